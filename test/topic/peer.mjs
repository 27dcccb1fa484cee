// Topic participants in their own processes (test/fixtures/topic-peer.mjs), for the topic tests.
import { spawn } from 'node:child_process';
import { eachLine, fixture } from '../helpers.mjs';

/**
 * Starts a topic-peer.mjs process (killed at teardown). `ready` resolves once it printed
 * "ready" (or "reserved"); `ask(line)` writes a line to it and resolves with the next
 * line it prints, parsed as JSON; `lines` resolves with its output lines once it exits 0.
 * `env` adds to the child's environment.
 */
export function peer(t, args, env = {}) {
  const child = spawn(process.execPath, [fixture('topic-peer.mjs'), ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  t.teardown(() => child.kill('SIGKILL'));
  const out = [];
  const waiting = [];
  let err = '';
  eachLine(child.stdout, (line) => {
    out.push(line);
    waiting.shift()?.(line);
  });
  child.stderr.on('data', (d) => (err += d));
  const next = () => new Promise((resolve) => waiting.push(resolve));
  const ready = next();
  const lines = new Promise((resolve, reject) => {
    // 'close', not 'exit': the last lines may still be in the pipe when the process has exited.
    child.once('close', (code, signal) => (code === 0 ? resolve(out) : reject(new Error(`${args.join(' ')} exited ${code ?? signal}: ${err}`))));
  });
  lines.catch(() => {});
  const ask = (line) => {
    const answer = next();
    child.stdin.write(line + '\n');
    return answer.then((l) => JSON.parse(l));
  };
  return { child, ready, lines, ask };
}

// The processes of test/service/*.test.mjs: a server or client fixture whose output
// lines are waited for (handshakes: a test acts only once the peer says it is there).
import { spawn } from 'node:child_process';
import { Service } from 'podshm';
import { fixture, within } from './helpers.mjs';

/** Starts a fixture (killed at teardown); `saw(line)` resolves once a line of its stdout starts with `line`. */
export function start(t, script, args) {
  const child = spawn(process.execPath, [fixture(script), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => child.kill('SIGKILL'));
  const seen = [];
  const waiting = [];
  let rest = '';
  child.stdout.on('data', (d) => {
    const parts = (rest + d).split('\n');
    rest = parts.pop();
    for (const line of parts) {
      seen.push(line);
      for (const w of waiting.filter((w) => line.startsWith(w.prefix))) {
        waiting.splice(waiting.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const saw = (prefix) => {
    const found = seen.find((l) => l.startsWith(prefix));
    if (found !== undefined) return Promise.resolve(found);
    const p = new Promise((resolve) => waiting.push({ prefix, resolve }));
    return within(Promise.race([p, exited.then(({ code, signal }) => Promise.reject(new Error(`${script} exited (${code ?? signal}) before "${prefix}"; it said: ${seen.join(' | ')}`)))]), `${script} saying "${prefix}"`);
  };
  return { child, saw, seen, exited };
}

/** Kills a fixture with SIGKILL and resolves once it is gone. */
export function kill(peer) {
  peer.child.kill('SIGKILL');
  return peer.exited;
}

/** A server of `name`, resolved once it serves. */
export async function server(t, name, ...flags) {
  // A killed server leaves its ring for the next one: the test removes it.
  t.teardown(() => {
    try {
      Service.unlink(name);
    } catch (err) {
      if (err.code !== 'ENOENT') throw err;
    }
  });
  const peer = start(t, 'service-server.mjs', [name, ...flags]);
  const line = await peer.saw('serving ');
  return { ...peer, pid: Number(line.split(' ')[1]) };
}

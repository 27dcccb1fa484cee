// Shared by the tests: unique object names (tests run in parallel, on machines where
// other runs may be going on too) and child processes that report back.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

let counter = 0;

/** A name no other test or run uses. */
export function uniqueName(tag) {
  return `/podshm-test-${tag}-${process.pid}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;
}

export const fixture = (name) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

/**
 * Runs a command to completion; resolves with { code, signal, stdout, stderr }.
 * Other options (uid, gid, cwd) go to spawn. A child that outlives `timeoutMs` is killed so a broken test cannot hang the suite.
 */
export function run(command, args, { timeoutMs = 60_000, env, input, ...spawnOptions } = {}) {
  return new Promise((resolve, reject) => {
    const stdin = input === undefined ? 'ignore' : 'pipe';
    const child = spawn(command, args, { ...spawnOptions, env: { ...process.env, ...env }, stdio: [stdin, 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    // A child may exit before reading its input; that is its answer, not an error here.
    child.stdin?.on('error', () => {});
    child.stdin?.end(input);
  });
}

/**
 * Starts `command args` (killed at the test's teardown) and resolves with the child once
 * its stdout has shown `line`; rejects if it exits first.
 */
export function startUntil(t, command, args, line) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => child.kill('SIGKILL'));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes(line)) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited (${code}) before "${line}"`)));
  });
}

/** Runs a fixture script with this Node; resolves like run(). */
export function node(script, args = [], opts) {
  return run(process.execPath, [fixture(script), ...args], opts);
}

/**
 * The raw addon, for tests that check what the kernel or the binding itself does
 * (the public API never exposes it).
 */
export const rawBinding = createRequire(import.meta.url)('node-gyp-build')(fileURLToPath(new URL('..', import.meta.url)));

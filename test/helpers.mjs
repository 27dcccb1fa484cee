// Shared by the tests: unique object names (tests run in parallel, on machines where
// other runs may be going on too) and child processes that report back.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
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
 * Other options (uid, gid, cwd) go to spawn; `onSpawn` gets the child (for its pid). A child that outlives `timeoutMs` is killed so a broken test cannot hang the suite.
 */
export function run(command, args, { timeoutMs = 60_000, env, input, onSpawn, ...spawnOptions } = {}) {
  return new Promise((resolve, reject) => {
    const stdin = input === undefined ? 'ignore' : 'pipe';
    const child = spawn(command, args, { ...spawnOptions, env: { ...process.env, ...env }, stdio: [stdin, 'pipe', 'pipe'] });
    onSpawn?.(child);
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

/** Calls `onLine` with each whole line of `stream`: a chunk may end inside a line. */
export function eachLine(stream, onLine) {
  let rest = '';
  stream.on('data', (d) => {
    const parts = (rest + d).split('\n');
    rest = parts.pop();
    for (const line of parts) onLine(line);
  });
}

/** Starts a fixture (killed at teardown); `saw(line)` resolves once a line of its stdout starts with `line`. */
export function start(t, script, args) {
  const child = spawn(process.execPath, [fixture(script), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => child.kill('SIGKILL'));
  const seen = [];
  const waiting = [];
  eachLine(child.stdout, (line) => {
    seen.push(line);
    for (const w of waiting.filter((w) => line.startsWith(w.prefix))) {
      waiting.splice(waiting.indexOf(w), 1);
      w.resolve(line);
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

/** Runs a fixture script with this Node; resolves like run(). */
export function node(script, args = [], opts) {
  return run(process.execPath, [fixture(script), ...args], opts);
}

/**
 * The raw addon, native.<group>.<name> as lib/addon/native.ts types it, for tests that
 * check what the kernel or the binding itself does (the public API never exposes it).
 */
export const rawBinding = createRequire(import.meta.url)('node-gyp-build')(fileURLToPath(new URL('..', import.meta.url)));

/**
 * Settles like `promise`, or rejects after `ms` with an error naming `what` did not
 * happen. Only a hang guard: pick `ms` far above any machine's time for the thing.
 */
export function within(promise, what, ms = 30_000) {
  let timer;
  const guard = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hang guard: ${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([promise, guard]).finally(() => clearTimeout(timer));
}

/** Resolves once `cond()` holds, checked on every timer tick; rejects like within(). */
export async function until(cond, what, ms = 30_000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`hang guard: ${what} did not happen within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/**
 * The seed of a randomized test: PODSHM_TEST_SEED if set (to replay a failure), else a
 * new one. The caller prints it, so a failing run can be replayed.
 */
export function testSeed() {
  const given = process.env.PODSHM_TEST_SEED;
  return given === undefined || given === '' ? (Math.random() * 2 ** 32) >>> 0 : Number(given) >>> 0;
}

/** A small seeded generator (mulberry32): uniform in [0, 1). */
export function seededRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32;
  };
}

// Syscall numbers of the futex calls, for sleeping() below.
const FUTEX_SYSCALLS = { x64: { futex: 202, futex_waitv: 449 }, arm64: { futex: 98, futex_waitv: 449 } }[process.arch];

/**
 * Whether a thread of process `pid` (or the thread `tid` only) is inside `call`
 * ('futex' or 'futex_waitv') right now, from /proc/PID/task/TID/syscall: the handshake
 * for "the peer has gone to sleep", where a sleep() would only guess.
 */
export function sleeping(pid, call = 'futex', tid) {
  const nr = FUTEX_SYSCALLS?.[call];
  if (nr === undefined) throw new Error(`no syscall number for ${call} on ${process.arch}`);
  const tids = tid === undefined ? readdirSync(`/proc/${pid}/task`) : [String(tid)];
  return tids.some((t) => {
    try {
      return Number(readFileSync(`/proc/${pid}/task/${t}/syscall`, 'utf8').split(' ')[0]) === nr;
    } catch {
      return false; // the thread ended meanwhile
    }
  });
}

/** Whether process `pid` is in the stopped state (T: SIGSTOP, or a cgroup freezer's stop), as /proc says. */
export function isStopped(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2)[0] === 'T';
}

/**
 * Whether this process's waiter thread is inside futex_waitv on a word of the file
 * mapped from `path` (e.g. `shm.path`): its waiter set, read from /proc/self/mem at the
 * syscall's first argument, holds an address inside that mapping. The handshake for
 * "this process's async wait is queued in the kernel" (a wait that ended a moment ago may
 * still be watched on another object, so "in futex_waitv" alone is not enough).
 */
export function watching(path) {
  // By inode: a mapping made before the object was linked under its name shows no name.
  const inode = String(statSync(path).ino);
  const ranges = readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.split(/\s+/)[4] === inode)
    .map((l) => l.split(' ')[0].split('-').map((x) => BigInt(`0x${x}`)));
  if (ranges.length === 0) return false;
  const mem = openSync('/proc/self/mem', 'r');
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      let fields;
      try {
        fields = readFileSync(`/proc/self/task/${tid}/syscall`, 'utf8').split(' ');
      } catch {
        continue;
      }
      if (Number(fields[0]) !== FUTEX_SYSCALLS.futex_waitv) continue;
      // struct futex_waitv { u64 val; u64 uaddr; u32 flags; u32 reserved; }
      const count = Number(BigInt(fields[2]));
      const set = Buffer.alloc(24 * count);
      try {
        readSync(mem, set, 0, set.length, Number(BigInt(fields[1])));
      } catch {
        continue; // the set was freed as the call returned
      }
      for (let i = 0; i < count; i++) {
        const address = set.readBigUInt64LE(24 * i + 8);
        if (ranges.some(([start, end]) => address >= start && address < end)) return true;
      }
    }
    return false;
  } finally {
    closeSync(mem);
  }
}

/**
 * Whether the main thread of process `pid` is asleep in futex() on the word at
 * `byteOffset` of the file `path` maps (found by inode in /proc/PID/maps; the
 * syscall's first argument is the word's address).
 */
export function asleepOn(pid, path, byteOffset) {
  const inode = String(statSync(path).ino);
  let fields;
  let maps;
  try {
    fields = readFileSync(`/proc/${pid}/syscall`, 'utf8').split(' ');
    maps = readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n');
  } catch {
    return false; // gone
  }
  if (Number(fields[0]) !== FUTEX_SYSCALLS.futex) return false;
  const address = BigInt(fields[1]);
  return maps.some((line) => {
    const f = line.split(/\s+/);
    if (f[4] !== inode) return false;
    const [start, end] = f[0].split('-').map((x) => BigInt(`0x${x}`));
    const want = start + BigInt(byteOffset) - BigInt(`0x${f[2]}`);
    return want >= start && want < end && want === address;
  });
}

// The smoke set, run from a project that installed the packed tarball (copied there by
// test/prebuilds/packed.mjs), under whichever Node.js runs it: the host's, another
// version, an arm64 one under qemu-user, or one run by an older glibc's dynamic linker.
// Peers are second processes of the same Node.js (PODSHM_SMOKE_NODE, where the process
// cannot tell: run by a dynamic linker, its execPath is the linker's); PODSHM_SMOKE_EXEC
// (a JSON array) is put before their command line, so under qemu they are emulated too. argv[2]: a small tmpfs for the capacity check, or
// nothing to skip it. Prints one JSON line per check: { check, result, detail }.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Channel, FutexWord, MessageQueue, Mutex, Semaphore, SharedMemory, backend } from 'podshm';

const self = fileURLToPath(import.meta.url);
const prefix = JSON.parse(process.env.PODSHM_SMOKE_EXEC || '[]');
const node = process.env.PODSHM_SMOKE_NODE || process.execPath;
// Hang guards only. Under qemu on a busy machine Node.js takes up to tens of seconds to
// start; a peer's own waits end first, so a peer that hangs is told from one that waited.
const waitMs = 120_000;
const guardMs = 240_000;
const tag = `podshm-smoke-${process.pid}`;

function peer(role, ...args) {
  const [cmd, ...rest] = [...prefix, node, self, role, ...args];
  const child = spawn(cmd, rest, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const done = new Promise((resolve, reject) => {
    const guard = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`peer ${role} still running after ${guardMs} ms, its progress: ${err}`));
    }, guardMs);
    child.on('exit', (code) => {
      clearTimeout(guard);
      if (code === 0) resolve(JSON.parse(out));
      else reject(new Error(`peer ${role} exited with ${code}: ${err}`));
    });
  });
  return { child, done };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Wakes `word` until the kernel reports a sleeping waiter (the peer is really in the
// futex, not about to enter it), or the peer ends first.
async function wakeSleeper(word, done) {
  let ended = false;
  done.then(() => (ended = true), () => (ended = true));
  while (!ended) {
    if (word.wake() > 0) return true;
    await sleep(10);
  }
  return false;
}

const checks = {
  async addon() {
    const dir = path.dirname(createRequire(import.meta.url).resolve('podshm/package.json'));
    const file = createRequire(path.join(dir, 'package.json'))('node-gyp-build').path(dir);
    const { glibcVersionRuntime } = process.report.getReport().header;
    return { result: path.relative(dir, file), detail: `${process.arch} ${process.version}, glibc ${glibcVersionRuntime}, SharedArrayBuffer via ${backend}` };
  },

  async 'native error'() {
    try {
      SharedMemory.open(`/${tag}-missing`);
      return { result: 'no error' };
    } catch (err) {
      return { result: err.code, detail: err.message };
    }
  },

  async 'shared memory'() {
    const shm = SharedMemory.create(`/${tag}-shm`, 4096);
    try {
      const words = new Int32Array(shm.buffer);
      words[0] = 41;
      const seen = await peer('shm', shm.name).done;
      const ok = seen.isSab && seen.read === 41 && words[1] === 42 && shm.buffer instanceof SharedArrayBuffer;
      return { result: ok ? 'ok' : 'wrong', detail: JSON.stringify({ ...seen, parentRead: words[1] }) };
    } finally {
      shm.unlink();
    }
  },

  async 'futex wait'() {
    return futexCheck('wait');
  },

  async 'futex waitSync'() {
    return futexCheck('waitSync');
  },

  // The async waits built on FutexWord's (the waiter thread's futex_waitv): a unit
  // released, and a mutex unlocked, only once the peer sleeps in the futex for it.
  async 'semaphore acquire'() {
    const shm = SharedMemory.create(`/${tag}-sem`, 4096);
    try {
      const sem = Semaphore.init(shm, 0, 0);
      const { done } = peer('semaphore', shm.name);
      const slept = await wakeSleeper(new FutexWord(shm.mapping, 0), done);
      if (slept) sem.release();
      const seen = await done;
      return { result: slept && seen.result === 'ok' ? 'ok' : seen.result, detail: JSON.stringify({ ...seen, slept }) };
    } finally {
      shm.unlink();
    }
  },

  async 'mutex lock'() {
    const shm = SharedMemory.create(`/${tag}-mutex`, 4096);
    const mutex = Mutex.init(shm, 0);
    try {
      mutex.lockSync();
      const { done } = peer('mutex', shm.name);
      const slept = await wakeSleeper(new FutexWord(shm.mapping, 0), done);
      mutex.unlock();
      const seen = await done;
      return { result: slept && seen.result === 'ok' ? 'ok' : seen.result, detail: JSON.stringify({ ...seen, slept }) };
    } finally {
      mutex.close();
      shm.unlink();
    }
  },

  async channel() {
    const toPeer = Channel.create(`${tag}-ping`, { capacity: 4096 });
    const fromPeer = Channel.create(`${tag}-pong`, { capacity: 4096 });
    try {
      const rx = fromPeer.receiver();
      const tx = toPeer.sender();
      const { done } = peer('channel', toPeer.name, fromPeer.name);
      tx.sendSync(new TextEncoder().encode('ping'));
      const reply = new TextDecoder().decode(await rx.receive({ timeout: waitMs }));
      await done;
      return { result: reply === 'pong: ping' ? 'ok' : 'wrong', detail: reply };
    } finally {
      toPeer.unlink();
      fromPeer.unlink();
      toPeer.close();
      fromPeer.close();
    }
  },

  async 'message queue'() {
    const opts = { maxMessages: 4, messageSize: 64 };
    const toPeer = MessageQueue.create(`/${tag}-ping`, opts);
    const fromPeer = MessageQueue.create(`/${tag}-pong`, opts);
    try {
      const { done } = peer('mq', toPeer.name, fromPeer.name);
      toPeer.sendSync('ping', { priority: 3 });
      const reply = await fromPeer.receive({ timeout: waitMs });
      await done;
      const text = Buffer.from(reply.data).toString();
      return { result: text === 'pong: ping 3' && reply.priority === 5 ? 'ok' : 'wrong', detail: `${text} (priority ${reply.priority})` };
    } finally {
      toPeer.unlink();
      fromPeer.unlink();
      toPeer.close();
      fromPeer.close();
    }
  },

  async capacity() {
    const dir = process.argv[2];
    if (!dir) return { result: 'skipped', detail: 'no small tmpfs given' };
    try {
      SharedMemory.create(`/${tag}-big`, 8 << 20, { dir }).unlink();
      return { result: 'created' };
    } catch (err) {
      return { result: err.name, detail: err.message };
    }
  },
};

async function futexCheck(how) {
  const shm = SharedMemory.create(`/${tag}-futex-${how}`, 4096);
  try {
    const word = new FutexWord(shm.mapping, 0);
    const { done } = peer('futex', shm.name, how);
    const woke = await wakeSleeper(word, done);
    const seen = await done;
    // The peer's answer alone: woken, or what its wait failed with.
    return { result: woke && seen.result === 'ok' ? 'ok' : seen.result, detail: JSON.stringify({ ...seen, wokeSleeper: woke }) };
  } finally {
    shm.unlink();
  }
}

const roles = {
  shm(name) {
    const shm = SharedMemory.open(name);
    const words = new Int32Array(shm.buffer);
    const read = words[0];
    words[1] = 42;
    return { isSab: shm.buffer instanceof SharedArrayBuffer, read };
  },
  async futex(name, how) {
    const shm = SharedMemory.open(name);
    const word = new FutexWord(shm.mapping, 0);
    process.stderr.write(`opened ${name}, calling ${how}\n`);
    try {
      const result = how === 'waitSync' ? word.waitSync(0, { timeout: waitMs, spin: false }) : await word.wait(0, { timeout: waitMs });
      return { result };
    } catch (err) {
      return { result: err.code ?? err.name, message: err.message };
    }
  },
  async semaphore(name) {
    const sem = new Semaphore(SharedMemory.open(name), 0);
    try {
      await sem.acquire({ timeout: waitMs });
      return { result: 'ok' };
    } catch (err) {
      return { result: err.code ?? err.name, message: err.message };
    }
  },
  async mutex(name) {
    const mutex = new Mutex(SharedMemory.open(name), 0);
    try {
      await mutex.lock({ timeout: waitMs });
      mutex.unlock();
      return { result: 'ok' };
    } catch (err) {
      return { result: err.code ?? err.name, message: err.message };
    } finally {
      mutex.close();
    }
  },
  async channel(pingName, pongName) {
    const rx = Channel.open(pingName).receiver();
    const tx = Channel.open(pongName).sender();
    const msg = new TextDecoder().decode(rx.receiveSync({ timeout: waitMs }));
    tx.sendSync(new TextEncoder().encode(`pong: ${msg}`));
    return {};
  },
  mq(pingName, pongName) {
    const got = MessageQueue.open(pingName).receiveSync({ timeout: waitMs });
    MessageQueue.open(pongName).sendSync(`pong: ${Buffer.from(got.data).toString()} ${got.priority}`, { priority: 5 });
    return {};
  },
};

const [role, ...args] = process.argv.slice(2);
if (roles[role]) {
  process.stdout.write(JSON.stringify(await roles[role](...args)));
  process.exit(0);
} else {
  for (const [check, fn] of Object.entries(checks)) {
    let out;
    try {
      out = await fn();
    } catch (err) {
      out = { result: 'threw', detail: err.stack };
    }
    console.log(JSON.stringify({ check, ...out }));
  }
}

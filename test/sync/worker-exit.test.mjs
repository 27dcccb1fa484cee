// A Worker blocked in a podshm wait must not keep terminate() or process.exit() from
// finishing: a system call cannot be interrupted by V8, so the addon waits in slices.
// And a Worker that ends without closing what it holds must look gone to its peers.
import t from 'tap';
import * as fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { node, uniqueName, until } from '../helpers.mjs';

for (const kind of ['semaphore', 'mq']) {
  t.test(`${kind}: terminate() ends a Worker blocked for ever`, async (t) => {
    const r = await node('worker-blocked.cjs', [kind, 'terminate'], { timeoutMs: 20_000 });
    t.equal(r.signal, null, 'not killed by the test timeout');
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stdout.trim(), 'terminated');
  });
  t.test(`${kind}: process.exit() with such a Worker ends the process`, async (t) => {
    const r = await node('worker-blocked.cjs', [kind, 'exit'], { timeoutMs: 20_000 });
    t.equal(r.signal, null, 'not killed by the test timeout');
    t.equal(r.code, 0, r.stderr);
  });
}

t.test('a wait longer than one native slice still ends as a timeout, not as a spurious answer', async (t) => {
  const { FutexWord, MessageQueue, SharedMemory, Semaphore } = await import('podshm');
  const { uniqueName } = await import('../helpers.mjs');
  const name = uniqueName('slices');
  const q = MessageQueue.create(name, { maxMessages: 1, messageSize: 16 });
  t.teardown(() => {
    q.close();
    MessageQueue.unlink(name);
  });
  t.throws(() => q.receiveSync({ timeout: 250 }), { code: 'ETIMEDOUT' }, 'receive');
  q.sendSync('x');
  t.throws(() => q.sendSync('y', { timeout: 250 }), { code: 'ETIMEDOUT' }, 'send on a full queue');

  const shm = SharedMemory.create(uniqueName('slices'), 4096);
  t.teardown(() => shm.unlink());
  t.throws(() => Semaphore.init(shm, 0, 0).acquireSync({ timeout: 250 }), { code: 'ETIMEDOUT' }, 'Semaphore.acquire');
  t.throws(() => new FutexWord(shm.mapping, 8).waitSync(0, { timeout: 250, spin: false }), { code: 'ETIMEDOUT' }, 'FutexWord.waitSync');
});

t.test('terminating Workers in the middle of async waits and queue receives never aborts the process', async (t) => {
  const r = await node('worker-terminate.mjs', [uniqueName('wkterm'), '120'], { timeoutMs: 120_000 });
  t.equal(r.signal, null, `not killed (SIGABRT was how it failed): ${r.stderr.slice(-500)}`);
  t.equal(r.code, 0, r.stderr.slice(-500));
  t.equal(r.stdout.trim(), 'done');
});

t.test('a Worker that dies holding a mutex and a producer slot leaves neither behind', async (t) => {
  const { Channel, Mutex, SharedMemory } = await import('podshm');
  const ch = Channel.create(uniqueName('wkdies'), { capacity: 4096 });
  const shm = SharedMemory.create(uniqueName('wkdies'), 4096);
  t.teardown(() => {
    ch.close();
    ch.unlink();
    shm.close();
    shm.unlink();
  });
  Mutex.init(shm, 0).close();
  const rx = ch.receiver({ producersGone: 'end' });
  const worker = new Worker(
    `const { Channel, Mutex, SharedMemory } = require('podshm');
     const { workerData: { channel, memory } } = require('node:worker_threads');
     Channel.open(channel).sender().sendSync(Uint8Array.of(7));
     new Mutex(SharedMemory.open(memory), 0).lockSync();
     throw new Error('dies holding both');`,
    { eval: true, workerData: { channel: ch.name, memory: shm.name } },
  );
  worker.on('error', () => {});
  await new Promise((resolve) => worker.on('exit', resolve));
  t.equal((await rx.receive({ timeout: 5000 }))[0], 7, 'what it sent arrives');
  t.equal(ch.stats().producersAlive, 0, 'its producer is seen gone');
  await t.rejects(rx.receive({ timeout: 5000 }), { name: 'PeerGoneError' }, 'and the consumer is told so');
  const m = new Mutex(shm, 0);
  t.ok(m.tryLock(), 'its mutex is taken over');
  t.ok(m.ownerDied, 'as from a dead owner');
  m.unlock();
  m.close();
});

// Threads of this process by name (the addon names its own: native/waiter.cc, death_watch.cc).
function threads(name) {
  return fs.readdirSync('/proc/self/task').filter((tid) => {
    try {
      return fs.readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() === name;
    } catch {
      return false; // the thread ended meanwhile
    }
  }).length;
}

t.test("a Worker terminated with a channel receive and a mutex lock pending leaves none of its addon's threads behind", async (t) => {
  const { Channel, Mutex, SharedMemory } = await import('podshm');
  const ch = Channel.create(uniqueName('wkthreads'), { capacity: 4096 });
  const shm = SharedMemory.create(uniqueName('wkthreads'), 4096);
  Mutex.init(shm, 0).close();
  const held = new Mutex(shm, 0);
  held.lock();
  // A producer, so that the Worker's receive has a peer to watch.
  const tx = ch.sender();
  t.teardown(() => {
    tx.close();
    held.unlock();
    held.close();
    ch.close();
    ch.unlink();
    shm.close();
    shm.unlink();
  });
  const before = { waiter: threads('podshm-waiter'), watch: threads('podshm-watch') };
  const worker = new Worker(
    `const { Channel, Mutex, SharedMemory } = require('podshm');
     const { workerData: { channel, memory } } = require('node:worker_threads');
     Channel.open(channel).receiver().receive();
     new Mutex(SharedMemory.open(memory), 0).lock();`,
    { eval: true, workerData: { channel: ch.name, memory: shm.name } },
  );
  // The receive sleeps behind a death watch on the producer, the lock on the waiter
  // thread behind one on the owner.
  await until(() => threads('podshm-waiter') > before.waiter && threads('podshm-watch') >= before.watch + 2, "the Worker's waiter thread and its two death watches");
  t.equal(await worker.terminate(), 1, 'terminated while both waits were pending');
  t.equal(threads('podshm-waiter'), before.waiter, 'its waiter thread is stopped');
  t.equal(threads('podshm-watch'), before.watch, 'its death watches are cancelled');
});

t.test('a Worker terminated with 200 waits pending (a helper of its waiter thread running) leaves no waiter thread behind', async (t) => {
  const { SharedMemory } = await import('podshm');
  const shm = SharedMemory.create(uniqueName('wkhelpers'), 4096);
  t.teardown(() => (shm.close(), shm.unlink()));
  const before = threads('podshm-waiter');
  const worker = new Worker(
    `const { Semaphore, SharedMemory } = require('podshm');
     const shm = SharedMemory.open(require('node:worker_threads').workerData);
     for (let i = 0; i < 200; i++) Semaphore.init(shm, Semaphore.SIZE * i, 0).acquire();`,
    { eval: true, workerData: shm.name },
  );
  // More distinct words than one futex_waitv takes: the waiter thread and one helper.
  await until(() => threads('podshm-waiter') >= before + 2, "the Worker's waiter thread and its helper");
  t.equal(await worker.terminate(), 1, 'terminated while the waits were pending');
  t.equal(threads('podshm-waiter'), before, 'the waiter thread and its helper are stopped');
});

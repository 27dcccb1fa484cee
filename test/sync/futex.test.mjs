import t from 'tap';
import { readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { SharedMemory, FutexWord } from 'podshm';
import { asleepOn, node, rawBinding as _native, uniqueName, until, watching, within } from '../helpers.mjs';

function segment(t, size = 4096) {
  const shm = SharedMemory.create(uniqueName('futex'), size);
  t.teardown(() => {
    shm.close();
    shm.unlink();
  });
  return shm;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

t.test('a blocking wait in one process is woken by a store and wake in another', async (t) => {
  const shm = segment(t);
  const i32 = new Int32Array(shm.buffer);
  let pid;
  const child = node('futex-peer.mjs', ['wait-sync', shm.name, '60000'], { onSpawn: (c) => (pid = c.pid) });
  await until(() => Atomics.load(i32, 1) === 1, 'the peer announcing its wait');
  await until(() => asleepOn(pid, shm.path, 0), 'the peer asleep on the word');
  Atomics.store(i32, 0, 7);
  t.equal(new FutexWord(shm.mapping, 0).wake(1), 1, 'wake() reports the one sleeper it woke');
  const r = await child;
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout.trim(), 'saw 7');
});

t.test('wake(n) returns how many sleepers it woke: none, one of two, then the rest', async (t) => {
  const shm = segment(t);
  const i32 = new Int32Array(shm.buffer);
  const word = new FutexWord(shm.mapping, 0);
  t.equal(word.wake(5), 0, 'nobody asleep: 0');
  const pids = [];
  const peers = [0, 1].map(() => node('futex-peer.mjs', ['wait-sync', shm.name, '60000'], { onSpawn: (c) => pids.push(c.pid) }));
  const bothAsleep = () => pids.length === 2 && pids.every((pid) => asleepOn(pid, shm.path, 0));
  await until(bothAsleep, 'both peers asleep on the word');
  // The word stays 0: the one woken goes back to sleep. (Each peer leaves futex() for a
  // moment every 100 ms, its slice; the check above and the wake are microseconds apart.)
  t.equal(word.wake(1), 1, 'wake(1) with two asleep: 1');
  await until(bothAsleep, 'both peers asleep again');
  Atomics.store(i32, 0, 7);
  t.equal(word.wake(10), 2, 'wake(10) with two asleep: 2');
  for (const r of await Promise.all(peers)) t.equal(r.stdout.trim(), 'saw 7', r.stderr);
  t.equal(word.wake(10), 0, 'and none after');
});

t.test('blocking waits time out, and report a value that is not the expected one', async (t) => {
  const shm = segment(t);
  const word = new FutexWord(shm.mapping, 4);
  t.equal(word.waitSync(1, { timeout: 10 }), 'mismatch');
  t.throws(() => word.waitSync(0, { timeout: 30 }), { code: 'ETIMEDOUT' });
  const r = await node('futex-peer.mjs', ['wait-timeout', shm.name, '50']);
  t.equal(r.stdout.trim(), 'timeout', r.stderr);
});

t.test('an async wait is woken from another process while the event loop keeps ticking', async (t) => {
  const shm = segment(t);
  const waiting = new FutexWord(shm.mapping, 0).wait(0, { timeout: 60_000 });
  // The peer is started by a timer callback: only a free event loop gets it going.
  const peer = new Promise((resolve) => setTimeout(() => resolve(node('futex-peer.mjs', ['store-and-wake', shm.name, '0'])), 0));
  const r = await within(peer, 'the timer callback that starts the peer, and the peer');
  t.equal(r.code, 0, r.stderr);
  t.equal(await waiting, 'ok');
  t.equal(_native.waiter.pending(), 0);
});

t.test('300 async waits on 300 different words (beyond one futex_waitv) all complete', async (t) => {
  const shm = segment(t);
  const n = 300;
  const results = new Array(n).fill(null);
  const waits = [];
  for (let i = 0; i < n; i++) {
    waits.push(new FutexWord(shm.mapping, i * 4).wait(0, { timeout: 20_000 }).then((r) => (results[i] = r)));
  }
  await sleep(50);
  t.equal(results.filter((r) => r !== null).length, 0, 'none completes before its word changes');
  // Wake them in an order that crosses the batches, from another process.
  const order = [...Array(n).keys()].reverse();
  const r = await node('futex-peer.mjs', ['store-and-wake', shm.name, ...order.map(String)]);
  t.equal(r.code, 0, r.stderr);
  await Promise.all(waits);
  t.same(new Set(results), new Set(['ok']));
});

t.test('1000 pending async waits cost at most one thread', async (t) => {
  const shm = segment(t);
  const threads = () => readdirSync('/proc/self/task').length;
  // Make sure the waiter thread exists before counting.
  await new FutexWord(shm.mapping, 0).wait(0, { timeout: 1 }).catch((e) => t.equal(e.code, 'ETIMEDOUT'));
  const before = threads();
  const ac = new AbortController();
  const waits = [];
  for (let i = 0; i < 1000; i++) {
    waits.push(new FutexWord(shm.mapping, (i % 100) * 4).wait(0, { signal: ac.signal }).catch((e) => e.code));
  }
  await sleep(50);
  t.equal(_native.waiter.pending(), 1000);
  t.equal(threads(), before, `${threads()} threads with 1000 waits pending, ${before} before`);
  ac.abort();
  t.same(new Set(await Promise.all(waits)), new Set(['ABORT_ERR']));
  t.equal(_native.waiter.pending(), 0);
});

t.test('timeout, abort, and an already aborted signal', async (t) => {
  const shm = segment(t);
  const word = new FutexWord(shm.mapping, 0);
  await t.rejects(word.wait(0, { timeout: 20 }), { code: 'ETIMEDOUT' });
  t.equal(await word.wait(3, { timeout: 20 }), 'mismatch', 'resolves at once when the word already differs');
  const ac = new AbortController();
  const p = word.wait(0, { signal: ac.signal });
  setTimeout(() => ac.abort(new Error('stop')), 20);
  const err = await p.catch((e) => e);
  t.match(err, { name: 'AbortError', code: 'ABORT_ERR' });
  t.equal(err.cause.message, 'stop');
  await t.rejects(word.wait(0, { signal: AbortSignal.abort() }), { code: 'ABORT_ERR' });
  t.equal(_native.waiter.pending(), 0);
});

t.test('a process with an abandoned wait exits on its own (pending waits alone hold the loop)', async (t) => {
  const shm = segment(t);
  const r = await node('futex-peer.mjs', ['abandon-wait', shm.name], { timeoutMs: 10_000 });
  t.equal(r.signal, null, 'not killed by the test timeout');
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout.trim(), 'ABORT_ERR');
});

t.test('closing the memory under a pending wait rejects it with EBADF', async (t) => {
  const shm = SharedMemory.create(uniqueName('futex-close'), 4096);
  t.teardown(() => shm.unlink());
  const p = new FutexWord(shm.mapping, 0).wait(0);
  await until(() => watching(shm.path), 'the waiter thread asleep on the word');
  shm.close();
  await t.rejects(p, { code: 'EBADF' });
  t.throws(() => new FutexWord(shm.mapping, 0).waitSync(0, { timeout: 10 }), { code: 'EBADF' });
});

t.test("a wake(1) meant for another process's sleeper is not swallowed by this process's waiter thread", async (t) => {
  const shm = SharedMemory.create(uniqueName('linger'), 4096);
  t.teardown(() => (shm.close(), shm.unlink()));
  const i32 = new Int32Array(shm.buffer);
  const word = new FutexWord(shm.mapping, 0);
  let pid;
  const other = node('futex-peer.mjs', ['wait-on-cue', shm.name, '1'], { onSpawn: (c) => (pid = c.pid) });
  await until(() => Atomics.load(i32, 2) !== 0, 'the peer starting');
  // An async wait that ends leaves the waiter thread watching the word a while longer
  // at its new value, 1: queued in the kernel ahead of the other process's sleep.
  const ended = word.wait(0);
  Atomics.store(i32, 0, 1);
  word.wake(1);
  t.equal(await ended, 'ok');
  Atomics.store(i32, 1, 1);
  // The other process goes to sleep on the word at 1 (the watch lasts 50 ms: on a
  // loaded machine it may be over by then, and the test then proves less, never fails).
  await until(() => asleepOn(pid, shm.path, 0), 'the other process asleep on the word');
  Atomics.store(i32, 0, 2);
  word.wake(1);
  const r = await other;
  // 'ok': woken; 'mismatch': a slice ended just as the word changed. 'slice' means that
  // the one wake went to the waiter thread's watch and nobody passed it on.
  t.match(r.stdout.trim(), /^(ok|mismatch)$/, r.stderr);
});

t.test('offsets are checked: aligned and inside the mapping, here and in the addon', async (t) => {
  const shm = segment(t, 64);
  t.throws(() => new FutexWord(shm.mapping, 2), { code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => new FutexWord(shm.mapping, 64), { code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => new FutexWord(shm.mapping, -4), { code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => new FutexWord(shm.mapping, '0'), { code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => new FutexWord(shm, 0), { code: 'ERR_INVALID_ARG_TYPE', message: /\.mapping/ }, 'the memory, not its mapping');
  t.throws(() => new FutexWord(shm.mapping, 0).waitSync(0, { timeout: '10' }), { code: 'ERR_INVALID_ARG_TYPE' }, 'a timeout that is not a number');
  t.throws(() => new FutexWord(shm.mapping, 0).waitSync(0, { timeout: -1 }), { code: 'ERR_OUT_OF_RANGE' }, 'a negative timeout');
  t.throws(() => new FutexWord({ buffer: new SharedArrayBuffer(64), handle: {} }, 0), { code: 'ERR_INVALID_ARG_TYPE' });
  const h = shm.mapping.handle;
  t.throws(() => _native.futex.wait(h, 62, 0, 0), RangeError);
  t.throws(() => _native.futex.wait(h, 1 << 20, 0, 0), RangeError);
  t.throws(() => _native.futex.wake(h, 6, 1), RangeError);
  t.throws(() => _native.waiter.wait(h, 1 << 20, 0, 0, () => {}), RangeError);
  t.throws(() => _native.waiter.wait({}, 0, 0, 0, () => {}), TypeError);
  t.throws(() => _native.futex.wait(42, 0, 0, 0), TypeError);
  t.equal(_native.waiter.pending(), 0);
});

t.test('a Worker with pending async waits is terminated and ends cleanly (its waiter thread is joined)', async (t) => {
  const shm = segment(t);
  const { Worker } = await import('node:worker_threads');
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { SharedMemory, FutexWord } = require(${JSON.stringify(new URL('../../dist/cjs/index.js', import.meta.url).pathname)});
    const shm = SharedMemory.open(workerData);
    const w = new FutexWord(shm.mapping, 0);
    w.wait(0).then((r) => parentPort.postMessage('first ' + r));
    w.wait(5).then((r) => parentPort.postMessage('second ' + r));
    parentPort.postMessage('waiting');
  `;
  for (let round = 0; round < 3; round++) {
    const worker = new Worker(code, { eval: true, workerData: shm.name });
    const messages = [];
    await within(new Promise((resolve) => worker.on('message', (m) => (messages.push(m), messages.length === 2 && resolve()))), 'the worker\'s two messages');
    t.same(messages.sort(), ['second mismatch', 'waiting']);
    t.equal(await worker.terminate(), 1, 'terminated while a wait was pending');
  }
  // This process's own waiter still works.
  await t.rejects(new FutexWord(shm.mapping, 0).wait(0, { timeout: 10 }), { code: 'ETIMEDOUT' });
});

// A spin before a blocking wait is judged by the whole wait (lib/wait/spin.ts): one that
// gave up, followed by a short wait, means the peer was running and answered a little
// late, so the budget grows back; judged by the spin alone it would only ever shrink, and
// a semaphore handoff whose answer came after the shrunk spin slept on every round.
t.test('a spin that gave up before a short blocking wait grows the budget back; a timeout shrinks it', { skip: availableParallelism() < 2 && 'no spin on one CPU' }, async (t) => {
  const shm = segment(t);
  const word = new FutexWord(shm.mapping, 0);
  const full = word.spinNs;
  let seen = 0;
  for (let i = 0; i < 100; i++) if (word.spin(0)) seen++;
  t.equal(seen, 0, 'nobody changes the word');
  const floor = word.spinNs;
  t.ok(floor > 0 && floor < full / 16, `spins that gave up, judged at once, shrink the budget (${floor} ns of ${full})`);
  t.notOk(word.spinBeforeBlocking(0));
  t.equal(word.spinNs, floor, 'a spin before a blocking wait waits for the wait to be judged');
  word.waited(true);
  // Each answered wait here lasts a spin (under 1 ms), and doubles the budget; one this
  // process spent descheduled for a millisecond would halve it, so the count is a bound.
  let waits = 1;
  for (; waits < 1000 && word.spinNs < full; waits++) {
    word.spinBeforeBlocking(0);
    word.waited(true);
  }
  t.equal(word.spinNs, full, `answered waits bring it back to the full budget (${waits} waits)`);
  // A peer that never answers within a spin, however soon after: it could not run while
  // this side spun (a shared CPU). Past 64 such spins in a row the budget shrinks; the
  // count starts over every 1024, and a spin that sees the word move starts it over too.
  for (; waits < 200; waits++) {
    word.spinBeforeBlocking(0);
    word.waited(true);
  }
  t.equal(word.spinNs, floor, 'a long run of spins that all gave up shrinks it to the floor, though each wait was short');
  for (; waits < 1024 + 32; waits++) {
    word.spinBeforeBlocking(0);
    word.waited(true);
  }
  t.ok(word.spinNs > floor, `a while later it may grow again (${word.spinNs} ns)`);
  t.throws(() => word.waitSync(0, { timeout: 1 }), { code: 'ETIMEDOUT' });
  t.equal(word.spinNs, full / 2, "waitSync's timeout (the peer away) halves it");
  Atomics.store(new Int32Array(shm.buffer), 0, 1);
  t.equal(word.waitSync(0), 'mismatch');
  t.equal(word.spinNs, full, 'a spin that sees the change doubles it');
});

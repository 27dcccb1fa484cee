// One AbortSignal shared by many pending calls (one AbortController for a whole consumer
// is common) holds one 'abort' listener, and none once they settle: however many calls
// wait on it, no MaxListenersExceededWarning, and a long-lived signal reused for call
// after call keeps nothing of them. Every waiting call of the API, in this one process.
import { getEventListeners } from 'node:events';
import t from 'tap';
import { Channel, Client, FutexWord, MessageQueue, Mutex, Semaphore, SharedMemory } from 'podshm';
import { run, uniqueName, within } from '../helpers.mjs';

const N = 25; // past the 10 listeners a signal warns at
const listeners = (signal) => getEventListeners(signal, 'abort').length;

const warnings = [];
process.on('warning', (w) => warnings.push(w));
t.teardown(() => {
  // Read once everything has run: a warning is emitted on a later tick.
  const leaks = warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map(String);
  if (leaks.length > 0) throw new Error(`a signal collected more than 10 listeners: ${leaks.join('; ')}`);
});

function segment(t) {
  const shm = SharedMemory.create(uniqueName('sigshare'), 4096);
  t.teardown(() => (shm.close(), shm.unlink()));
  return shm;
}

// `start(signal)` N times on one signal: one listener while they wait; `settle()` ends
// them; none is left after.
async function shared(t, what, start, settle) {
  const ac = new AbortController();
  const pending = Array.from({ length: N }, (_, i) => start(ac.signal, i).then(() => 'done', (e) => e.code));
  // A channel's wait begins after the caller's queued work has run (docs/performance.md).
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(listeners(ac.signal), 1, `${what}: ${N} pending calls, one listener`);
  await settle(ac);
  const outcomes = await within(Promise.all(pending), `${what}: the ${N} calls settling`);
  t.equal(listeners(ac.signal), 0, `${what}: none once they settled`);
  return outcomes;
}

t.test('FutexWord.wait: many pending on one signal, then aborted', async (t) => {
  const shm = segment(t);
  const outcomes = await shared(t, 'wait', (signal, i) => new FutexWord(shm.mapping, i * 4).wait(0, { signal }), (ac) => ac.abort());
  t.same(new Set(outcomes), new Set(['ABORT_ERR']), 'every wait ended by the abort');
});

t.test('a long-lived signal reused for one wait after another keeps no listener', async (t) => {
  const shm = segment(t);
  const ac = new AbortController();
  const word = new FutexWord(shm.mapping, 0);
  const sem = Semaphore.init(shm, 8, 0);
  for (let i = 0; i < 3 * N; i++) {
    await t.rejects(word.wait(0, { signal: ac.signal, timeout: 1 }), { code: 'ETIMEDOUT' }, `wait ${i}`);
    const acquired = sem.acquire({ signal: ac.signal });
    setTimeout(() => sem.release(), 0);
    await within(acquired, `acquire ${i}`);
  }
  t.equal(listeners(ac.signal), 0, 'no listener left');
});

t.test('Semaphore.acquire: many pending on one signal, then served', async (t) => {
  const shm = segment(t);
  const sem = Semaphore.init(shm, 0, 0);
  const outcomes = await shared(t, 'acquire', (signal) => sem.acquire({ signal }), () => sem.release(N));
  t.same(new Set(outcomes), new Set(['done']));
});

t.test('Mutex.lock: many pending on one signal, then aborted', async (t) => {
  const shm = segment(t);
  const holder = Mutex.init(shm, 0);
  holder.lockSync();
  const waiters = Array.from({ length: N }, () => new Mutex(shm, 0));
  t.teardown(() => [holder, ...waiters].forEach((m) => m.close()));
  const outcomes = await shared(t, 'lock', (signal, i) => waiters[i].lock({ signal }), (ac) => ac.abort());
  t.same(new Set(outcomes), new Set(['ABORT_ERR']));
  holder.unlock();
});

t.test('Channel receive and send: many pending on one signal', async (t) => {
  for (const wait of ['block', 'adaptive']) {
    const channels = Array.from({ length: N }, () => Channel.create(uniqueName('sigshare'), { capacity: 4096, wait }));
    t.teardown(() => channels.forEach((ch) => (ch.close(), ch.unlink())));
    const ends = channels.map((ch) => ({ rx: ch.receiver(), tx: ch.sender() }));
    const outcomes = await shared(t, `receive (${wait})`, (signal, i) => ends[i].rx.receive({ signal }), () => ends.forEach((e) => e.tx.sendSync(Uint8Array.of(1))));
    t.same(new Set(outcomes), new Set(['done']));
    for (const e of ends) while (e.tx.trySend(new Uint8Array(64)));
    const sends = await shared(t, `send (${wait})`, (signal, i) => ends[i].tx.send(new Uint8Array(64), { signal }), (ac) => ac.abort());
    t.same(new Set(sends), new Set(['ABORT_ERR']));
  }
});

t.test('open({ wait: true }) and MessageQueue.receive: many pending on one signal', async (t) => {
  const names = Array.from({ length: N }, () => uniqueName('sigshare-none'));
  const opens = await shared(t, 'Channel.open wait', (signal, i) => Channel.open(names[i], { wait: true, signal }), (ac) => ac.abort());
  t.same(new Set(opens), new Set(['ABORT_ERR']));
  const q = MessageQueue.create(uniqueName('sigshare'));
  t.teardown(() => (q.close(), q.unlink()));
  const receives = await shared(t, 'MessageQueue.receive', (signal) => q.receive({ signal }), (ac) => ac.abort());
  t.same(new Set(receives), new Set(['ABORT_ERR']));
});

t.test('Client.call waiting for its server: many pending on one signal', async (t) => {
  const client = Client.connect(uniqueName('sigshare-svc'));
  t.teardown(() => client.close());
  const calls = await shared(t, 'call', (signal) => client.call(Uint8Array.of(1), { signal }), (ac) => ac.abort());
  t.same(new Set(calls), new Set(['ABORT_ERR']));
});

t.test('a callback of a shared signal that throws does not keep the others from running', async (t) => {
  // In a process of its own: the error is thrown again, uncaught, after the others ran.
  const script = `
    const { onAbort } = require(${JSON.stringify(new URL('../../dist/cjs/core/timeout.js', import.meta.url).pathname)});
    const ac = new AbortController();
    const ran = [];
    onAbort(ac.signal, () => ran.push(1));
    onAbort(ac.signal, () => { throw new Error('one call failed'); });
    onAbort(ac.signal, () => ran.push(3));
    process.on('uncaughtException', (err) => console.log('uncaught ' + err.message));
    ac.abort();
    console.log('ran ' + ran.join(','));
  `;
  const res = await run(process.execPath, ['-e', script]);
  t.equal(res.code, 0, res.stderr);
  t.same(res.stdout.trim().split('\n'), ['ran 1,3', 'uncaught one call failed'], 'every other callback ran, and the error is not swallowed');
});

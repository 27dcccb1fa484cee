// Property: whatever a caller passes to a public function, the call either does its job
// or throws a typed error: a PodshmError (ArgumentError ERR_INVALID_ARG_TYPE,
// ERR_OUT_OF_RANGE or ERR_UNKNOWN_OPTION for a bad argument; a closed object is EBADF).
// Never "Cannot read properties of null", "Cannot mix BigInt", or a native binding's
// message; and an argument outside a function's domain is refused, never accepted.
// PODSHM_FUZZ_SEED=<seed> repeats a run; PODSHM_FUZZ_RUNS sets the cases per function.
import * as fs from 'node:fs';
import fc from 'fast-check';
import t from 'tap';
import {
  Channel,
  Client,
  FutexWord,
  MessageQueue,
  Mutex,
  PodshmError,
  Semaphore,
  Service,
  SharedMemory,
  SysVSharedMemory,
  Topic,
  channelRates,
  collectStats,
  diagnose,
  fromHandle,
  mqueueQueueBytes,
  ftok,
  probeLimits,
} from 'podshm';
import { mutatePod, parseQuantity, reviewAdmission } from 'podshm/webhook';
import { internal } from '../internal.mjs';

const { LivenessProbe, Presence, isAlive, liveSlots } = internal('liveness/presence');

const seed = process.env.PODSHM_FUZZ_SEED === undefined ? (Date.now() ^ (Math.random() * 2 ** 31)) | 0 : Number(process.env.PODSHM_FUZZ_SEED);
const numRuns = Number(process.env.PODSHM_FUZZ_RUNS ?? 60);
// A hang guard per case, far above what any case takes (a few ms): blocking calls get timeouts of at most 5 ms.
const CASE_LIMIT_MS = 5000;

// Objects are made in a private directory, which is also the working directory, so a
// relative `dir` lands there too.
const dir = fs.mkdtempSync('/dev/shm/podshm-fuzz-');
process.chdir(dir);
const tag = `fz${process.pid}`;
const NAMES = [`${tag}a`, `/${tag}b`];

const typed = (e) => e instanceof PodshmError;

const special = fc.constantFrom(
  undefined, null, NaN, Infinity, -Infinity, -1, -0, 0, 0.5, 1, 3, 2 ** 31, 2 ** 53, true, false, '', 'x', '0', '\0', 1n, 2n ** 64n,
  Symbol('s'), [], {}, () => {}, new Uint8Array(1), new ArrayBuffer(8), new Date(0), /x/, Object.create(null), new AbortController().signal,
);
const anything = fc.anything({ withBigInt: true, withNullPrototype: true, withBoxedValues: true, withTypedArray: true, withSparseArray: true, maxDepth: 2 });
/** Any value, hostile ones often. */
const any = fc.oneof(special, anything);
/** Any value but a string: names and paths that are strings come from `name`/`dirArb`, so nothing is made outside our directory. */
const nonString = any.filter((v) => typeof v !== 'string');
const name = fc.oneof(nonString, fc.constantFrom('', '/', 'a/b', '//x', 'x'.repeat(300), 'a\0b', ...NAMES));
const dirArb = fc.oneof(nonString, fc.constantFrom('', '.', 'missing', dir, '\0x', `${dir}/missing`));
/** A number that, where valid, keeps what is made small (a few pages). */
const small = (max) => any.filter((v) => typeof v !== 'number' || !(v > max));
/** A timeout that never blocks long: anything but a number above 5 (Infinity included), or undefined. */
const shortTimeout = any.filter((v) => v !== undefined && !(typeof v === 'number' && v > 5));
const rec = (shape) => fc.oneof(any, fc.record(shape, { requiredKeys: [] }));
/** Options of a call that may block: always an object with a short timeout. */
const blocking = (extra = {}) => fc.record({ timeout: shortTimeout, ...extra }, { requiredKeys: ['timeout'] });
const isInt = (v, min, max = Number.MAX_SAFE_INTEGER) => Number.isInteger(v) && v >= min && v <= max;

// The objects that methods are called on.
const shm = SharedMemory.create(`${tag}-shm`, 4096, { dir });
const sem = Semaphore.init(shm, 0, 1);
const mutex = Mutex.init(shm, 64);
const word = new FutexWord(shm.mapping, 128);
const ch = Channel.create(`${tag}-ch`, { dir, capacity: 4096, producers: 'multi' });
const tx = ch.sender();
const rx = ch.receiver();
const topic = Topic.create(`${tag}-topic`, { dir, capacity: 4096, subscribers: 2 });
const pub = topic.publisher();
const sub = topic.subscriber();
const q = MessageQueue.create(`${tag}-mq`, { maxMessages: 4, messageSize: 64 });
const probe = new LivenessProbe(shm.path);
const service = Service.serve(`${tag}-svc`, (request) => request, { dir, capacity: 4096 });
const client = Client.connect(`${tag}-svc`, { dir, capacity: 4096 });
const closedShm = SharedMemory.create(`${tag}-closed`, 4096, { dir });
const closedSem = Semaphore.init(closedShm, 0, 1);
closedShm.close();

/** Undoes what a call that succeeded made or took, so every case starts alike. */
function undo(result) {
  if (result === null || typeof result !== 'object') return;
  if (result instanceof SharedMemory || result instanceof Channel || result instanceof MessageQueue || result instanceof Topic || result instanceof Service || result instanceof Client) {
    result.close();
  } else if (result instanceof SysVSharedMemory) {
    result.unlink();
    result.close();
  } else if (result instanceof Semaphore || result instanceof Presence || result instanceof LivenessProbe) {
    if (typeof result.close === 'function') result.close();
    else result.release();
  } else if (result instanceof Mutex) {
    if (result.held) result.unlock();
    result.close();
  } else if (typeof result.cancel === 'function' && result.bytes) {
    result.cancel();
  }
}

function reset() {
  rx.drain(() => {});
  rx.release();
  sub.drain(() => {});
  while (q.tryReceive() !== null);
  while (sem.value < 1) sem.release();
  while (sem.value > 1) sem.tryAcquire();
  for (const n of NAMES) {
    // Channel.unlink removes a channel's bell too, then the segment of any kind.
    for (const unlink of [() => Channel.unlink(n), () => Channel.unlink(n, { dir }), () => MessageQueue.unlink(n)]) {
      try {
        unlink();
      } catch {}
    }
  }
}

// Each case: the arguments' arbitraries, the call, and (where the domain is plain) which
// arguments must be refused.
const cases = {
  'SharedMemory.create': [[name, small(1 << 16), rec({ mode: any, exclusive: any, dir: dirArb, allowForeignOwner: any })], (n, s, o) => SharedMemory.create(n, s, o), (n, s) => !isInt(s, 1)],
  'SharedMemory.open': [[name, rec({ readOnly: any, dir: dirArb, allowForeignOwner: any })], (n, o) => SharedMemory.open(n, o)],
  'SharedMemory.unlink': [[name, rec({ dir: dirArb })], (n, o) => SharedMemory.unlink(n, o)],
  'SysVSharedMemory.create': [[any, small(1 << 16), rec({ mode: any, exclusive: any })], (k, s, o) => SysVSharedMemory.create(k, s, o)],
  ftok: [[dirArb, any], (p, id) => ftok(p, id), (p, id) => !isInt(id, 1, 255)],
  probeLimits: [[rec({ dir: dirArb })], (o) => probeLimits(o)],
  diagnose: [[rec({ dir: dirArb })], (o) => diagnose(o)],
  'MessageQueue.create': [[name, rec({ exclusive: any, maxMessages: small(8), messageSize: small(256), mode: any, readOnly: any, writeOnly: any })], (n, o) => MessageQueue.create(n, o)],
  'MessageQueue.open': [[name, rec({ readOnly: any, writeOnly: any, allowForeignOwner: any })], (n, o) => MessageQueue.open(n, o)],
  'MessageQueue.unlink': [[name], (n) => MessageQueue.unlink(n)],
  mqueueQueueBytes: [[any, any], (m, s) => mqueueQueueBytes(m, s), (m, s) => !isInt(m, 1) || !isInt(s, 1)],
  collectStats: [[rec({ dir: dirArb, sysv: any, mqueue: any })], (o) => collectStats(o)],
  channelRates: [[any, any], (a, b) => channelRates(a, b)],
  fromHandle: [[fc.oneof(any, fc.record({ podshm: fc.constantFrom('SharedMemory', 'Channel', 'Semaphore', 'Mutex', 'Topic', 'MessageQueue', 'x'), name: name, dir: dirArb, fileId: any, readOnly: any }, { requiredKeys: ['podshm'] }))], (h) => fromHandle(h)],
  'Semaphore.unlink': [[name, rec({ dir: dirArb })], (n, o) => Semaphore.unlink(n, o)],
  'Mutex.unlink': [[name, rec({ dir: dirArb })], (n, o) => Mutex.unlink(n, o)],
  'Channel.unlink': [[name, rec({ dir: dirArb })], (n, o) => Channel.unlink(n, o)],
  'Topic.unlink': [[name, rec({ dir: dirArb })], (n, o) => Topic.unlink(n, o)],
  'q.sendSync': [[any, blocking({ priority: any })], (d, o) => q.sendSync(d, o)],
  'q.trySend': [[any, rec({ priority: any })], (d, o) => q.trySend(d, o)],
  'q.receiveSync': [[blocking()], (o) => q.receiveSync(o)],
  'q.receiveIntoSync': [[any, blocking()], (b, o) => q.receiveIntoSync(b, o)],
  'q.send': [[any, blocking({ priority: any, signal: any })], (d, o) => q.send(d, o)],
  'q.receive': [[blocking({ signal: any })], (o) => q.receive(o)],
  'new FutexWord': [[any, any], (m, off) => new FutexWord(m, off)],
  'word.waitSync': [[any, blocking({ spin: any })], (e, o) => word.waitSync(e, o), (e) => !isInt(e, -(2 ** 31), 2 ** 32 - 1)],
  'word.wake': [[any], (c) => word.wake(c), (c) => c !== undefined && !isInt(c, 1, 2 ** 31 - 1)],
  'word.wait': [[any, blocking({ signal: any })], (e, o) => word.wait(e, o), (e) => !isInt(e, -(2 ** 31), 2 ** 32 - 1)],
  'Presence.claim': [[dirArb, rec({ base: any, slots: small(64), random: any })], (p, o) => Presence.claim(p, o)],
  'new LivenessProbe': [[dirArb], (p) => new LivenessProbe(p)],
  'probe.isAlive': [[any], (off) => probe.isAlive(off), (off) => !isInt(off, 0)],
  'probe.liveSlots': [[rec({ base: any, slots: small(64) })], (r) => probe.liveSlots(r)],
  liveSlots: [[dirArb, rec({ base: any, slots: small(64) })], (p, r) => liveSlots(p, r)],
  isAlive: [[dirArb, any], (p, off) => isAlive(p, off)],
  'new Semaphore': [[any, any], (m, off) => new Semaphore(m, off)],
  'Semaphore.init': [[fc.constant(shm), fc.constantFrom(256, 0.5, -4, 4096), any], (m, off, v) => Semaphore.init(m, off, v), (m, off, v) => !isInt(v, 0, 2 ** 31 - 1)],
  'Semaphore.create': [[name, rec({ exclusive: any, initial: any, mode: any, dir: dirArb, allowForeignOwner: any })], (n, o) => Semaphore.create(n, o)],
  'Semaphore.open': [[name, rec({ dir: dirArb, allowForeignOwner: any })], (n, o) => Semaphore.open(n, o)],
  'sem.release': [[any], (n) => sem.release(n), (n) => n !== undefined && !isInt(n, 1, 2 ** 31 - 1)],
  'sem.acquireSync': [[blocking()], (o) => sem.acquireSync(o)],
  'sem.acquire': [[blocking({ signal: any })], (o) => sem.acquire(o)],
  'closed sem.tryAcquire': [[], () => closedSem.tryAcquire(), () => true],
  'closed sem.value': [[], () => closedSem.value, () => true],
  'new Mutex': [[any, any], (m, off) => new Mutex(m, off)],
  'Mutex.create': [[name, rec({ exclusive: any, mode: any, dir: dirArb, allowForeignOwner: any })], (n, o) => Mutex.create(n, o)],
  'Mutex.open': [[name, rec({ dir: dirArb, allowForeignOwner: any })], (n, o) => Mutex.open(n, o)],
  'mutex.lockSync': [[blocking()], (o) => (mutex.lockSync(o), mutex.unlock())],
  'mutex.lock': [[blocking({ signal: any })], (o) => mutex.lock(o).then(() => mutex.unlock())],
  'Channel.create': [[name, rec({ capacity: small(1 << 16), producers: any, wait: any, mode: any, dir: dirArb, exclusive: any })], (n, o) => Channel.create(n, o)],
  'Channel.open': [[name, rec({ dir: dirArb, allowForeignOwner: any })], (n, o) => Channel.open(n, o)],
  'tx.sendSync': [[any, blocking()], (b, o) => tx.sendSync(b, o)],
  'tx.trySend': [[any], (b) => tx.trySend(b)],
  'tx.sendManySync': [[fc.oneof(any, fc.array(any, { maxLength: 3 })), blocking()], (m, o) => tx.sendManySync(m, o)],
  'tx.sendMany': [[fc.oneof(any, fc.array(any, { maxLength: 3 })), blocking({ signal: any })], (m, o) => tx.sendMany(m, o)],
  'tx.send': [[any, blocking({ signal: any })], (b, o) => tx.send(b, o)],
  'tx.reserveSync': [[any, blocking()], (s, o) => tx.reserveSync(s, o), (s) => !isInt(s, 0)],
  'tx.tryReserve': [[any], (s) => tx.tryReserve(s), (s) => !isInt(s, 0)],
  'tx.reserve': [[any, blocking({ signal: any })], (s, o) => tx.reserve(s, o), (s) => !isInt(s, 0)],
  'reservation.commit': [[any], (len) => tx.reserveSync(8, { timeout: 0 }).commit(len), (len) => len !== undefined && !isInt(len, 0, 8)],
  'rx.receiveSync': [[blocking()], (o) => rx.receiveSync(o)],
  'rx.receiveViewSync': [[blocking()], (o) => rx.receiveViewSync(o)],
  'rx.receiveView': [[blocking({ signal: any })], (o) => rx.receiveView(o)],
  'ch.receiver': [[rec({ producersGone: any })], (o) => ch.receiver(o)],
  'rx.receive': [[blocking({ signal: any })], (o) => rx.receive(o)],
  'rx.drain': [[any, any], (h, max) => rx.drain(h, max), (h, max) => typeof h !== 'function' || (max !== undefined && max !== Infinity && !isInt(max, 0))],
  'Service.serve': [[name, any, rec({ capacity: small(1 << 16), mode: any, dir: dirArb, remoteStack: any, onError: any })], (n, h, o) => Service.serve(n, h, o), (n, h) => typeof h !== 'function'],
  'Client.connect': [[name, rec({ capacity: small(1 << 16), mode: any, dir: dirArb, onError: any })], (n, o) => Client.connect(n, o)],
  'client.call': [[any, blocking({ signal: any, waitForServer: any })], (p, o) => client.call(p, o), (p) => !ArrayBuffer.isView(p)],
  mutatePod: [[any, rec({ ratio: any, defaultLimit: any })], (p, o) => mutatePod(p, o)],
  reviewAdmission: [[any, rec({ ratio: any, defaultLimit: any })], (b, o) => reviewAdmission(b, o)],
  parseQuantity: [[any], (v) => parseQuantity(v)],
  'Topic.create': [[name, rec({ capacity: small(1 << 16), subscribers: small(8), policy: any, wait: any, mode: any, dir: dirArb, exclusive: any })], (n, o) => Topic.create(n, o)],
  'Topic.open': [[name, rec({ dir: dirArb, allowForeignOwner: any })], (n, o) => Topic.open(n, o)],
  'topic.subscriber': [[rec({ history: any })], (o) => topic.subscriber(o).close()],
  'pub.publishSync': [[any, blocking()], (b, o) => pub.publishSync(b, o)],
  'pub.tryPublish': [[any], (b) => pub.tryPublish(b)],
  'pub.publish': [[any, blocking({ signal: any })], (b, o) => pub.publish(b, o)],
  'pub.reserveSync': [[any, blocking()], (s, o) => pub.reserveSync(s, o), (s) => !isInt(s, 0)],
  'pub.tryReserve': [[any], (s) => pub.tryReserve(s), (s) => !isInt(s, 0)],
  'pub.reserve': [[any, blocking({ signal: any })], (s, o) => pub.reserve(s, o), (s) => !isInt(s, 0)],
  'topic reservation.commit': [[any], (len) => pub.reserveSync(8, { timeout: 0 }).commit(len), (len) => len !== undefined && !isInt(len, 0, 8)],
  'sub.receiveSync': [[blocking()], (o) => sub.receiveSync(o)],
  'sub.receive': [[blocking({ signal: any })], (o) => sub.receive(o)],
  'sub.receiveViewSync': [[blocking()], (o) => sub.receiveViewSync(o)],
  'sub.drain': [[any, any], (h, max) => sub.drain(h, max), (h, max) => typeof h !== 'function' || (max !== undefined && max !== Infinity && !isInt(max, 0))],
};

t.comment(`fast-check seed ${seed} (PODSHM_FUZZ_SEED=${seed} repeats this run), ${numRuns} cases per function`);
t.teardown(() => {
  reset();
  client.close();
  service.close();
  ch.close();
  topic.close();
  q.close();
  MessageQueue.unlink(q.name);
  probe.close();
  shm.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

for (const [fn, [arbs, call, mustThrow]] of Object.entries(cases)) {
  t.test(fn, async (t) => {
    const property = fc.asyncProperty(fc.tuple(...arbs), async (args) => {
      reset();
      const start = performance.now();
      let result;
      let error = null;
      try {
        result = call(...args);
        if (result instanceof Promise) result = await result;
      } catch (err) {
        error = err;
      }
      const ms = performance.now() - start;
      if (ms > CASE_LIMIT_MS) throw new Error(`${fn} took ${Math.round(ms)} ms (a hang guard of ${CASE_LIMIT_MS} ms)`);
      if (error === null) {
        undo(result);
        if (mustThrow?.(...args)) throw new Error(`${fn} accepted arguments outside its domain`);
        return;
      }
      if (!typed(error)) throw new Error(`${fn} threw an untyped ${error?.constructor?.name}: ${error?.message} (code ${error?.code})`);
    });
    const out = await fc.check(property, { seed, numRuns, path: undefined, endOnFailure: true });
    t.notOk(out.failed, out.failed ? `${fn}: ${out.errorInstance?.message}; ${fc.defaultReportMessage(out)}` : `${fn}: ${out.numRuns} cases`);
  });
}

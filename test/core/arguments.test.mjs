// The bad arguments an outside review found accepted silently or answered with untyped
// errors, one of each kind. The rule: a wrong type is an ArgumentError
// ERR_INVALID_ARG_TYPE, a wrong value an ArgumentError ERR_OUT_OF_RANGE, both before any
// system call; anything else podshm refuses is a PodshmError too (a closed object is
// SystemError EBADF).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { Channel, FutexWord, MessageQueue, Semaphore, SharedMemory, channelRates, collectStats, diagnose, mqueueQueueBytes, probeLimits } from 'podshm';
import { mutatePod, reviewAdmission } from 'podshm/webhook';
import { uniqueName } from '../helpers.mjs';
import { internal } from '../internal.mjs';

const { LivenessProbe } = internal('liveness/presence');

const TYPE = { name: 'ArgumentError', code: 'ERR_INVALID_ARG_TYPE' };
const RANGE = { name: 'ArgumentError', code: 'ERR_OUT_OF_RANGE' };

function channel(t, opts) {
  const name = uniqueName('args');
  const ch = Channel.create(name, { capacity: 4096, ...opts });
  t.teardown(() => {
    ch.close();
    Channel.unlink(name);
  });
  return ch;
}

t.test('reserve takes an integer size, nothing else', async (t) => {
  const tx = channel(t).sender();
  for (const size of [null, true, '8', {}]) {
    t.throws(() => tx.reserveSync(size, { timeout: 0 }), TYPE, `reserve(${String(size)})`);
    t.throws(() => tx.tryReserve(size), TYPE, `tryReserve(${String(size)})`);
    await t.rejects(tx.reserve(size, { timeout: 0 }), TYPE, `reserve(${String(size)})`);
  }
  for (const size of [0.5, -1, NaN]) t.throws(() => tx.tryReserve(size), RANGE, `tryReserve(${size})`);
  t.throws(() => tx.tryReserve(1n), TYPE, 'a BigInt');
});

t.test('drain checks its handler and max, even with nothing to drain', async (t) => {
  const rx = channel(t).receiver();
  t.throws(() => rx.drain(null), TYPE, 'no handler, empty ring');
  t.throws(() => rx.drain(() => {}, 'many'), TYPE);
  t.throws(() => rx.drain(() => {}, -1), RANGE);
  t.throws(() => rx.drain(() => {}, 1.5), RANGE);
  t.equal(rx.drain(() => {}, Infinity), 0);
  t.equal(rx.drain(() => {}, 0), 0);
});

t.test('futex words: expected and count are integers', async (t) => {
  const name = uniqueName('args-futex');
  const shm = SharedMemory.create(name, 4096);
  t.teardown(() => {
    shm.close();
    SharedMemory.unlink(name);
  });
  const word = new FutexWord(shm.mapping, 0);
  t.throws(() => word.waitSync(1n, { timeout: 0 }), TYPE, 'no "Cannot mix BigInt"');
  t.throws(() => word.waitSync('0', { timeout: 0 }), TYPE);
  t.throws(() => word.waitSync(0.5, { timeout: 0 }), RANGE);
  t.throws(() => word.waitSync(1, { timeout: 0, spin: 'yes' }), TYPE, 'spin');
  await t.rejects(word.wait(1n), TYPE);
  t.throws(() => word.wake(0), RANGE);
  t.throws(() => word.wake(2 ** 53), RANGE);
  t.throws(() => word.wake(1n), TYPE);
  t.equal(word.waitSync(1, { timeout: 0 }), 'mismatch');
});

t.test('paths and directories: strings, checked before any call; a missing one is a SystemError', async (t) => {
  for (const call of [() => probeLimits({ dir: 7 }), () => diagnose({ dir: {} }), () => new LivenessProbe(7), () => SharedMemory.open('x', { dir: 1n })]) {
    t.throws(call, TYPE);
  }
  t.throws(() => probeLimits({ dir: '/dev/shm\0x' }), RANGE);
  t.throws(() => probeLimits(null), TYPE);
  t.throws(() => diagnose(null), TYPE);
  const missing = path.join(os.tmpdir(), `podshm-missing-${process.pid}`);
  t.throws(() => probeLimits({ dir: missing }), { name: 'SystemError', code: 'ENOENT', syscall: 'statfs' }, 'not Node\'s own statfs error');
  t.throws(() => SharedMemory.open(7), TYPE, 'a name that is not a string');
  t.throws(() => MessageQueue.open({}), TYPE);
});

t.test('the webhook functions take null options as a typed error', async (t) => {
  t.throws(() => mutatePod({}, null), TYPE);
  t.throws(() => mutatePod({ spec: { containers: [] } }, 7), TYPE);
  t.equal(reviewAdmission(null).ok, false);
});

t.test('Channel.create reads options.mode once: the segment and its bell get the same mode', async (t) => {
  const dir = fs.mkdtempSync('/dev/shm/podshm-args-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  let reads = 0;
  const opts = { dir, capacity: 4096 };
  Object.defineProperty(opts, 'mode', { enumerable: true, get: () => (++reads === 1 ? 0o600 : 0o666) });
  const ch = Channel.create('moded', opts);
  t.teardown(() => ch.close());
  const segment = fs.statSync(path.join(dir, 'moded')).mode & 0o777;
  const bell = fs.statSync(path.join(dir, 'moded.bell')).mode & 0o777;
  t.equal(segment, 0o600);
  t.equal(bell, segment, 'the bell has the segment\'s mode');
});

t.test('a Semaphore whose memory is closed answers EBADF, not "empty"', async (t) => {
  const name = uniqueName('args-sem');
  const shm = SharedMemory.create(name, 4096);
  t.teardown(() => SharedMemory.unlink(name));
  const sem = Semaphore.init(shm, 0, 3);
  shm.close();
  const EBADF = { name: 'SystemError', code: 'EBADF' };
  t.throws(() => sem.tryAcquire(), EBADF);
  t.throws(() => sem.value, EBADF);
  t.throws(() => sem.acquireSync({ timeout: 0 }), EBADF);
  t.throws(() => sem.release(), EBADF);
});

t.test('channelRates takes two snapshots, mqueueQueueBytes two positive integers', async (t) => {
  const dir = fs.mkdtempSync('/dev/shm/podshm-args-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const snapshot = collectStats({ dir, sysv: false, mqueue: false });
  for (const bad of [null, undefined, {}, { at: 1, objects: null }, { at: 1, objects: [null] }, 1n]) {
    t.throws(() => channelRates(bad, snapshot), { ...TYPE, message: /"prev"/ }, `prev ${String(bad)}`);
    t.throws(() => channelRates(snapshot, bad), { ...TYPE, message: /"next"/ }, `next ${String(bad)}`);
  }
  t.equal(channelRates(snapshot, snapshot).size, 0);
  t.throws(() => mqueueQueueBytes(null, 64), TYPE, 'not NaN');
  t.throws(() => mqueueQueueBytes(1n, 64), TYPE, 'no "Cannot mix BigInt"');
  t.throws(() => mqueueQueueBytes(10, 0.5), RANGE);
  t.throws(() => mqueueQueueBytes(0, 64), RANGE);
  t.ok(mqueueQueueBytes(10, 8192) > 10 * 8192);
});

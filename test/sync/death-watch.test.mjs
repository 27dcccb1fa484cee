// The death watch (native/death_watch.cc, lib/liveness/watch.ts): it wakes its waiter once
// every presence on the watched range is gone, however they went, and its own shared
// lock is never taken for a participant. Waits for the watch's effect on the word with
// a generous hang guard; nothing here depends on how fast the machine is.
import t from 'tap';
import { FutexWord, SharedMemory } from 'podshm';
import { rawBinding, uniqueName } from '../helpers.mjs';
import { internal } from '../internal.mjs';

const { LivenessProbe, Presence } = internal('liveness/presence');
const { PeerWatch } = internal('liveness/watch');
const HANG_GUARD_MS = 60_000;
const BASE = 2 ** 40;

function segment(t) {
  const name = uniqueName('dwatch');
  const shm = SharedMemory.create(name, 4096);
  t.teardown(() => (shm.close(), SharedMemory.unlink(name)));
  return shm;
}

t.test('a watch swaps the word and wakes it once the last holder of its range is gone', async (t) => {
  const shm = segment(t);
  const word = new FutexWord(shm.mapping, 0);
  const i32 = new Int32Array(shm.buffer);
  Atomics.store(i32, 0, 5);
  const a = Presence.claim(shm.path, { base: BASE, slots: 2 });
  const b = Presence.claim(shm.path, { base: BASE, slots: 2 });
  t.teardown(() => (a.release(), b.release()));
  const probe = new LivenessProbe(shm.path);
  const watch = new PeerWatch(probe);
  t.teardown(() => (watch.close(), probe.close()));
  t.equal(watch.arm(BASE, 2, { handle: shm.mapping.handle, byteOffset: 0, flagOffset: -1, from: 5, to: 6, bellFd: -1 }), true, 'armed');
  const woken = word.wait(5, { timeout: HANG_GUARD_MS });
  a.release();
  t.equal(Atomics.load(i32, 0), 5, 'one holder left: the word is untouched so far');
  b.release();
  t.equal(await woken, 'ok', `woken (a timeout would mean the end went unnoticed for ${HANG_GUARD_MS} ms)`);
  t.equal(Atomics.load(i32, 0), 6, 'swapped from -> to');
  t.equal(watch.fired, true);
  t.equal(watch.arm(BASE, 2, { handle: shm.mapping.handle, byteOffset: 0, flagOffset: -1, from: 6, to: 7, bellFd: -1 }), true, 'armed again on an empty range');
  t.match(await word.wait(6, { timeout: HANG_GUARD_MS }), /^(ok|mismatch)$/, 'which fires at once (the word left 6, before the wait or during it)');
  t.equal(Atomics.load(i32, 0), 7);
});

t.test('a shared lock (a watch letting go) is not a participant', async (t) => {
  const shm = segment(t);
  const fd = rawBinding.ofd.open(shm.path, false);
  t.teardown(() => rawBinding.ofd.close(fd));
  t.equal(rawBinding.ofd.lock(fd, BASE + 3, 1, false), true, 'a shared lock taken');
  const probe = new LivenessProbe(shm.path);
  t.teardown(() => probe.close());
  t.equal(probe.isAlive(BASE + 3), false, 'not alive');
  t.same(probe.liveSlots({ base: BASE, slots: 8 }), [], 'not among the live slots');
  const p = Presence.claim(shm.path, { base: BASE + 4, slots: 1 });
  t.equal(probe.isAlive(BASE + 4), true, 'an exclusive one is');
  p.release();
});

t.test('closing a watch ends its thread at once (close returns), and the word is left alone', async (t) => {
  const shm = segment(t);
  const i32 = new Int32Array(shm.buffer);
  Atomics.store(i32, 0, 5);
  const a = Presence.claim(shm.path, { base: BASE, slots: 1 });
  const probe = new LivenessProbe(shm.path);
  t.teardown(() => probe.close());
  const watch = new PeerWatch(probe);
  t.ok(watch.arm(BASE, 1, { handle: shm.mapping.handle, byteOffset: 0, flagOffset: -1, from: 5, to: 6, bellFd: -1 }));
  // close() returns once the thread has ended: nothing can touch the word after it.
  watch.close();
  a.release();
  t.equal(Atomics.load(i32, 0), 5);
});

t.test('the raw binding refuses anything but a watch handle', async (t) => {
  const shm = segment(t);
  for (const call of ['fired', 'stop']) {
    t.throws(() => rawBinding.deathWatch[call](shm.mapping.handle), TypeError, `deathWatch.${call}(a mapping handle)`);
    t.throws(() => rawBinding.deathWatch[call]({}), TypeError, `deathWatch.${call}({})`);
  }
});

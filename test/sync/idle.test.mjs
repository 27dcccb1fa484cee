// Waiting Semaphore and Mutex waiters on the event loop cost nothing while nothing
// happens (docs/design.md, "Waiting without a clock"): the waiter thread takes the new
// wait in and then sleeps until something happens; a mutex owner's death, learned from
// its lock, is such a thing. The count is the waiter thread's own passes over a window
// three times the period it used to have (a look every second), so a periodic wake-up
// shows there however fast or slow the machine is; nothing waits for the window to act.
import t from 'tap';
import { setTimeout as delay } from 'node:timers/promises';
import { Mutex, Semaphore, SharedMemory } from 'podshm';
import { fixture, rawBinding, startUntil, uniqueName } from '../helpers.mjs';

const WINDOW_MS = 3_000;
const HANG_GUARD_MS = 60_000;

// The pass that took the new wait in, and at most one more (it may come before or after
// the first count): a look every second would make three or more.
function quiet(t, loops) {
  const passes = rawBinding.waiter.loops() - loops;
  t.ok(passes <= 2, `waiter thread passes over ${WINDOW_MS} ms: ${passes}`);
}

t.test('a semaphore waiter on the event loop: no pass of the waiter thread while nothing happens', async (t) => {
  const name = uniqueName('semidle');
  const sem = Semaphore.create(name, { exclusive: true });
  t.teardown(() => (sem.close(), Semaphore.unlink(name)));
  const loops = rawBinding.waiter.loops();
  const pending = sem.acquire({ timeout: HANG_GUARD_MS });
  await delay(WINDOW_MS);
  quiet(t, loops);
  sem.release();
  t.equal(await pending, undefined, 'the release ends the wait');
});

t.test('a mutex waiter on the event loop sleeps through, and takes over when the owner dies', async (t) => {
  const name = uniqueName('mtxidle');
  const m = Mutex.create(name, { exclusive: true });
  t.teardown(() => (m.close(), Mutex.unlink(name)));
  const owner = await startUntil(t, process.execPath, [fixture('idle-peer.mjs'), 'mutex', name], 'ready');
  const loops = rawBinding.waiter.loops();
  const pending = m.lock({ timeout: HANG_GUARD_MS });
  await delay(WINDOW_MS);
  quiet(t, loops);
  owner.kill('SIGKILL');
  t.equal(await pending, undefined, `the owner's death was detected (false: not within the ${HANG_GUARD_MS} ms hang guard)`);
  t.equal(m.ownerDied, true, 'and reported');
  m.unlock();
});

// More distinct words than one futex_waitv takes (128, one of them the thread's own):
// the rest go to helper threads, not to a look every 2 ms. The passes are counted from
// the moment they stop (the waits being taken in), so no settling time is assumed.
t.test('200 semaphores waited on at once: no pass while nothing happens, and every release is heard', async (t) => {
  const shm = SharedMemory.create(uniqueName('semmany'), 4096);
  t.teardown(() => (shm.close(), shm.unlink()));
  const sems = Array.from({ length: 200 }, (_, i) => Semaphore.init(shm, Semaphore.SIZE * i, 0));
  const pending = sems.map((sem) => sem.acquire({ timeout: HANG_GUARD_MS }));
  const start = Date.now();
  for (let last = -1, loops = rawBinding.waiter.loops(); loops !== last; loops = rawBinding.waiter.loops()) {
    if (Date.now() - start > HANG_GUARD_MS) throw new Error(`the waiter threads never stopped: ${loops - last} passes in 500 ms (hang guard ${HANG_GUARD_MS} ms)`);
    last = loops;
    await delay(500);
  }
  const loops = rawBinding.waiter.loops();
  await delay(WINDOW_MS);
  t.equal(rawBinding.waiter.loops() - loops, 0, `no pass of the waiter threads over ${WINDOW_MS} ms`);
  for (let i = sems.length - 1; i >= 0; i--) {
    sems[i].release();
    t.equal(await pending[i], undefined, `semaphore ${i}: the release ends its wait (or it timed out at the ${HANG_GUARD_MS} ms hang guard)`);
  }
});

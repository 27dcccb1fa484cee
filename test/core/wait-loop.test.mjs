// The wait loop of the synchronization objects (lib/wait/loop.ts): what a driver feeds
// back into an operation, and that an abort or a failed sleep still runs its finally blocks.
import t from 'tap';
import { SharedMemory } from 'podshm';
import { internal } from '../internal.mjs';
import { uniqueName } from '../helpers.mjs';

const { runAsync, futexSleep } = internal('wait/loop');
const { FutexWord } = internal('wait/futex');

/** A word of real shared memory to sleep on, and a way to change it and wake its sleepers. */
function word(t) {
  const name = uniqueName('waitloop');
  const shm = SharedMemory.create(name, 4096);
  t.teardown(() => {
    shm.close();
    SharedMemory.unlink(name);
  });
  const i32 = new Int32Array(shm.buffer);
  return {
    sleep: (expected, ms) => futexSleep(i32, 0, shm.mapping.handle, expected, ms),
    set: (value) => {
      Atomics.store(i32, 0, value);
      new FutexWord(shm.mapping, 0).wake(1);
    },
  };
}

t.test('the async driver feeds each sleep result back, until the operation returns', async (t) => {
  const w = word(t);
  const seen = [];
  let sleeps = 0;
  const op = (function* () {
    sleeps++;
    seen.push(yield w.sleep(0, Infinity));
    sleeps++;
    seen.push(yield w.sleep(1, 5));
    return 'done';
  })();
  const result = runAsync(op, undefined);
  await new Promise(setImmediate);
  t.equal(sleeps, 1, 'one sleep at a time');
  w.set(1);
  t.equal(await result, 'done');
  t.strictSame(seen, ['ok', 'timeout'], 'woken, then timed out');
});

t.test('an abort is thrown into the operation: its finally runs, and the call rejects', async (t) => {
  const w = word(t);
  let cleaned = false;
  const op = (function* () {
    try {
      for (;;) yield w.sleep(0, Infinity);
    } finally {
      cleaned = true;
    }
  })();
  const ac = new AbortController();
  const result = runAsync(op, ac.signal);
  await new Promise(setImmediate);
  ac.abort();
  await t.rejects(result, { name: 'AbortError' });
  t.ok(cleaned, 'the operation cleaned up');
});

t.test('an operation may catch what its sleep threw, and still answer', async (t) => {
  const w = word(t);
  const ac = new AbortController();
  ac.abort();
  const op = (function* () {
    try {
      yield w.sleep(0, Infinity);
      return 'slept';
    } catch (err) {
      return `caught ${err.name}`;
    }
  })();
  t.equal(await runAsync(op, ac.signal), 'caught AbortError', 'an already aborted signal never starts the sleep');
});

t.test("FutexWord.sleep: slices are slept again with the time left; 'closed' throws", async (t) => {
  const name = uniqueName('waitloop');
  const shm = SharedMemory.create(name, 4096);
  t.teardown(() => {
    shm.close();
    SharedMemory.unlink(name);
  });
  const word = new FutexWord(shm.mapping, 8);
  const op = word.sleep(5, 10_000);
  const first = op.next().value;
  t.match(first, { index: 2, expected: 5 });
  t.ok(first.ms > 0 && first.ms <= 10_000);
  const second = op.next('slice');
  t.notOk(second.done, "a 'slice' is not the end");
  t.ok(second.value.ms <= first.ms, 'the next sleep gets the time left');
  t.strictSame(op.next('timeout'), { done: true, value: 'timeout' });

  const forever = word.sleep(5, Infinity);
  t.equal(forever.next().value.ms, Infinity);
  t.throws(() => forever.next('closed'), { code: 'EBADF' });
});

t.test('the async driver does not sleep on a word that already changed', async (t) => {
  const name = uniqueName('waitloop');
  const shm = SharedMemory.create(name, 4096);
  t.teardown(() => {
    shm.close();
    SharedMemory.unlink(name);
  });
  const word = new FutexWord(shm.mapping, 0);
  // The word holds 0, the sleep expects 1: 'ok' at once, not 'timeout' after 10 s.
  t.equal(await runAsync(word.sleep(1, 10_000), undefined), 'ok');
});

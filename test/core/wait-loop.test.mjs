// The one wait loop (lib/wait/loop.ts) under fake sleeps: what a driver feeds back
// into an operation, and that an abort or a failed sleep still runs its finally blocks.
import t from 'tap';
import { SharedMemory } from 'podshm';
import { internal } from '../internal.mjs';
import { uniqueName } from '../helpers.mjs';

const { runSync, runAsync } = internal('wait/loop');
const { FutexWord } = internal('wait/futex');

/** A sleep target that ends each sleep ('ok') when told to, and refuses on abort as a bell does. */
function fakeTarget() {
  const sleeps = [];
  return {
    sleeps,
    sleep(ms, signal) {
      return new Promise((resolve, reject) => {
        sleeps.push({ ms, resolve: () => resolve('ok') });
        signal?.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' })), { once: true });
      });
    },
  };
}

t.test('the async driver feeds each sleep result back, until the operation returns', async (t) => {
  const target = fakeTarget();
  const seen = [];
  const op = (function* () {
    seen.push(yield { on: 'event', target, ms: 5 });
    seen.push(yield { on: 'event', target, ms: 7 });
    return 'done';
  })();
  const result = runAsync(op, undefined);
  await new Promise(setImmediate);
  t.strictSame(target.sleeps.map((s) => s.ms), [5], 'one sleep at a time');
  target.sleeps[0].resolve();
  await new Promise(setImmediate);
  target.sleeps[1].resolve();
  t.equal(await result, 'done');
  t.strictSame(seen, ['ok', 'ok']);
});

t.test('an abort is thrown into the operation: its finally runs, and the call rejects', async (t) => {
  const target = fakeTarget();
  let cleaned = false;
  const op = (function* () {
    try {
      for (;;) yield { on: 'event', target, ms: 100 };
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
  const ac = new AbortController();
  ac.abort();
  const op = (function* () {
    try {
      yield { on: 'event', target: fakeTarget(), ms: 1 };
      return 'slept';
    } catch (err) {
      return `caught ${err.name}`;
    }
  })();
  t.equal(await runAsync(op, ac.signal), 'caught AbortError', 'an already aborted signal never starts the sleep');
});

t.test('the sync driver refuses an event sleep inside the operation, and its finally runs', async (t) => {
  let cleaned = false;
  const op = (function* () {
    try {
      yield { on: 'event', target: fakeTarget(), ms: 1 };
    } finally {
      cleaned = true;
    }
  })();
  t.throws(() => runSync(op), TypeError);
  t.ok(cleaned);
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
  t.match(first, { on: 'futex', index: 2, expected: 5 });
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

// A Worker blocked in a podshm wait must not keep terminate() or process.exit() from
// finishing: a system call cannot be interrupted by V8, so the addon waits in slices.
import t from 'tap';
import { node } from './helpers.mjs';

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
  const { uniqueName } = await import('./helpers.mjs');
  const name = uniqueName('slices');
  const q = MessageQueue.open(name, { create: true, maxMessages: 1, messageSize: 16 });
  t.teardown(() => {
    q.close();
    MessageQueue.unlink(name);
  });
  t.throws(() => q.receive({ timeout: 250 }), { code: 'ETIMEDOUT' }, 'receive');
  q.send('x');
  t.throws(() => q.send('y', { timeout: 250 }), { code: 'ETIMEDOUT' }, 'send on a full queue');

  const shm = SharedMemory.create(uniqueName('slices'), 4096);
  t.teardown(() => shm.unlink());
  t.equal(Semaphore.init(shm, 0, 0).acquire({ timeout: 250 }), false, 'Semaphore.acquire');
  t.equal(new FutexWord(shm.mapping, 8).wait(0, 250, false), 'timeout', 'FutexWord.wait');
});

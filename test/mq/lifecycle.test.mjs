// Endings that must not crash: a Worker with a waiting queue, or with its thread
// blocked in a blocking call, is terminated, a Worker ends with a queue left open,
// queues are collected without close().
import t from 'tap';
import { MessageQueue } from 'podshm';
import { fixture, node, run, uniqueName } from '../helpers.mjs';

const name = uniqueName('mq-life');
MessageQueue.create(name).close();
t.teardown(() => MessageQueue.unlink(name));

t.test('terminating a Worker that waits in receive', async (t) => {
  const r = await node('mq-worker.mjs', ['terminate', name], { timeoutMs: 15_000 });
  t.equal(r.signal, null, r.stderr);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout.trim(), 'terminated');
});

for (const call of ['receive', 'send']) {
  t.test(`terminating a Worker whose thread is blocked in ${call}Sync`, async (t) => {
    const q = MessageQueue.create(uniqueName('mq-blocked'), { maxMessages: 1 });
    t.teardown(() => (q.close(), q.unlink()));
    const r = await node('mq-worker.mjs', ['terminate-sync', q.name, call], { timeoutMs: 15_000 });
    t.equal(r.signal, null, r.stderr);
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stdout.trim(), 'terminated');
  });
}

t.test('a Worker that ends with a queue (and its idle poll handle) still open', async (t) => {
  const r = await node('mq-worker.mjs', ['idle-exit', name], { timeoutMs: 15_000 });
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout.trim(), 'exited');
});

t.test('queues collected without close() release their descriptors and poll handles', async (t) => {
  const r = await run(process.execPath, ['--expose-gc', fixture('mq-worker.mjs'), 'gc', name], { timeoutMs: 15_000 });
  t.equal(r.code, 0, r.stderr);
  const [fds, got] = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  t.same(fds, { open: 0 });
  t.same(got, { got: 'x' });
});

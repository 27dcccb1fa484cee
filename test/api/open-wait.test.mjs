// open({ wait: true }): a consumer or peer that starts first waits for the object instead
// of polling for it, with a timeout and an AbortSignal like every other wait.
import t from 'tap';
import { Channel, MessageQueue, Mutex, Semaphore, SharedMemory, Topic } from 'podshm';
import { run, uniqueName, within } from '../helpers.mjs';

// Creates `what` in another process, started only once the wait below is pending.
const createElsewhere = (code, name) => run(process.execPath, ['--input-type=module', '-e', `import * as p from 'podshm'; ${code}`, name], { cwd: process.cwd() });

const kinds = [
  [Channel, (n, o) => Channel.open(n, o), `p.Channel.create(process.argv[1], { capacity: 4096 }).close();`, (n) => Channel.unlink(n)],
  [SharedMemory, (n, o) => SharedMemory.open(n, o), `p.SharedMemory.create(process.argv[1], 4096).close();`, (n) => SharedMemory.unlink(n)],
  [MessageQueue, (n, o) => MessageQueue.open(n, o), `p.MessageQueue.create(process.argv[1], { maxMessages: 2, messageSize: 16 }).close();`, (n) => MessageQueue.unlink(n)],
  [Mutex, (n, o) => Mutex.open(n, o), `p.Mutex.create(process.argv[1]).close();`, (n) => Mutex.unlink(n)],
  [Semaphore, (n, o) => Semaphore.open(n, o), `p.Semaphore.create(process.argv[1], { initial: 3 }).close();`, (n) => Semaphore.unlink(n)],
  [Topic, (n, o) => Topic.open(n, o), `p.Topic.create(process.argv[1], { capacity: 4096 }).close();`, (n) => Topic.unlink(n)],
];

for (const [Class, open, create, unlink] of kinds) {
  const kind = Class.name;
  t.test(`${kind}.open({ wait: true }) resolves once another process creates it`, async (t) => {
    const name = uniqueName(`wait${kind.toLowerCase()}`);
    t.throws(() => open(name), { code: 'ENOENT' }, 'without wait: ENOENT at once');
    let settled = false;
    const opened = open(name, { wait: true, timeout: 60_000 });
    opened.then(() => (settled = true), () => (settled = true));
    // The promise is pending until the object exists: the creator starts only now.
    await new Promise((r) => setImmediate(r));
    t.equal(settled, false, 'pending while there is nothing to open');
    const r = await createElsewhere(create, name);
    t.equal(r.code, 0, r.stderr);
    const obj = await within(opened, `${kind} opened`);
    t.teardown(() => unlink(name));
    t.ok(obj instanceof Class, `a ${kind}`);
    obj.close();
  });
}

t.test('the wait ends with ETIMEDOUT, AbortError (reason in cause) or a bad option', async (t) => {
  const name = uniqueName('waitnone');
  await t.rejects(Channel.open(name, { wait: true, timeout: 20 }), { code: 'ETIMEDOUT', message: /not created within 20 ms/ });
  await t.rejects(MessageQueue.open(name, { wait: true, timeout: 20 }), { code: 'ETIMEDOUT' });
  const ac = new AbortController();
  const pending = SharedMemory.open(name, { wait: true, signal: ac.signal });
  setTimeout(() => ac.abort('shutting down'), 0);
  await t.rejects(pending, { name: 'AbortError', code: 'ABORT_ERR', cause: 'shutting down' });
  await t.rejects(Mutex.open(name, { wait: true, signal: AbortSignal.abort() }), { code: 'ABORT_ERR' });
  t.throws(() => Channel.open(name, { wiat: true }), { code: 'ERR_UNKNOWN_OPTION', message: /did you mean "wait"/ });
  await t.rejects(Channel.open(name, { wait: true, timeout: -1 }), { code: 'ERR_OUT_OF_RANGE' });
});

// A message queue's mqueue mount cannot be watched, so its opens retry on a clock: one
// timer per process for all of them, and none once nobody waits (docs/design.md,
// "Waiting without a clock").
t.test('message queue opens that wait share one retry timer, which goes with the last', async (t) => {
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const before = timers();
  const ac = new AbortController();
  const names = Array.from({ length: 20 }, (_, i) => uniqueName(`waitmq${i}`));
  const opens = names.map((n) => MessageQueue.open(n, { wait: true, signal: ac.signal }));
  t.equal(timers() - before, 1, 'one timer for 20 waiting opens');
  const r = await createElsewhere(`p.MessageQueue.create(process.argv[1], { maxMessages: 2, messageSize: 16 }).close();`, names[7]);
  t.equal(r.code, 0, r.stderr);
  t.teardown(() => MessageQueue.unlink(names[7]));
  (await within(opens[7], 'the created queue opened')).close();
  t.equal(timers() - before, 1, 'the other 19 still share one');
  ac.abort();
  const rest = await Promise.allSettled(opens);
  t.equal(rest.filter((s) => s.status === 'rejected' && s.reason.name === 'AbortError').length, 19, 'the others end with AbortError');
  t.equal(timers() - before, 0, 'no timer once nobody waits');
});

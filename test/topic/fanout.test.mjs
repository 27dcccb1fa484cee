// One copy per message, every subscriber its own cursor: publishers and subscribers in
// separate processes, every subscriber receiving every message, in order, once.
import t from 'tap';
import { Topic } from 'podshm';
import { uniqueName, until, within } from '../helpers.mjs';
import { peer } from './peer.mjs';

const MESSAGES = Number(process.env.PODSHM_TOPIC_MESSAGES ?? 1_000_000);

for (const publishers of ['multi', 'single']) {
  t.test(`1 publisher and 4 subscriber processes: ${MESSAGES} messages, each subscriber gets all in order (block, publishers '${publishers}')`, async (t) => {
    const topic = Topic.create(uniqueName('topicfan'), { capacity: 1 << 20, subscribers: 4, publishers });
    t.teardown(() => (topic.close(), topic.unlink()));
    const subs = [0, 1, 2, 3].map(() => peer(t, ['subscribe', topic.name, String(MESSAGES)]));
    await within(Promise.all(subs.map((s) => s.ready)), 'four subscribers attaching');
    const pub = peer(t, ['publish', topic.name, '0', String(MESSAGES)]);
    const results = await within(Promise.all(subs.map((s) => s.lines)), 'every subscriber receiving every message', 600_000);
    t.same(await pub.lines, ['done']);
    for (const lines of results) {
      t.same(JSON.parse(lines.at(-1)), { received: MESSAGES, lost: 0, first: 0, last: MESSAGES - 1, errors: [] });
    }
    t.equal(topic.stats().messagesPublished, MESSAGES, 'each message was written once');
  });
}

t.test('two publisher processes and three subscribers: every message of each arrives, each publisher in its order', async (t) => {
  const topic = Topic.create(uniqueName('topicmulti'), { capacity: 1 << 16, subscribers: 3 });
  t.teardown(() => (topic.close(), topic.unlink()));
  const count = 20_000;
  const subs = [0, 1, 2].map(() => topic.subscriber());
  const pubs = [peer(t, ['publish', topic.name, '0', String(count)]), peer(t, ['publish', topic.name, String(count), String(count)])];
  // This process is the three subscribers: message numbers from each publisher rise by one.
  const { check } = await import('../fixtures/topic-messages.mjs');
  const reads = subs.map(async (sub) => {
    const next = [0, count];
    const errors = [];
    for (let i = 0; i < 2 * count; i++) {
      const { n, error } = check(await sub.receive());
      const p = n < count ? 0 : 1;
      if (error) errors.push(error);
      else if (n !== next[p]) errors.push(`message ${n} where ${next[p]} was next`);
      next[p] = n + 1;
    }
    return { next, errors: errors.slice(0, 5) };
  });
  const results = await within(Promise.all(reads), 'three subscribers receiving both publishers', 300_000);
  for (const lines of await Promise.all(pubs.map((p) => p.lines))) t.same(lines, ['done']);
  for (const r of results) t.same(r, { next: [count, 2 * count], errors: [] });
});

t.test('a subscriber SIGKILLed mid-stream: the publisher goes on, the others receive every message', async (t) => {
  const topic = Topic.create(uniqueName('topickill'), { capacity: 1 << 16, subscribers: 3, wait: 'block' });
  t.teardown(() => (topic.close(), topic.unlink()));
  const count = 50_000;
  const subs = [0, 1].map(() => peer(t, ['subscribe', topic.name, String(count)]));
  const doomed = peer(t, ['slow', topic.name]);
  await within(Promise.all([...subs.map((s) => s.ready), doomed.ready]), 'three subscribers attaching');
  const pub = peer(t, ['publish', topic.name, '0', String(count)]);
  // The slow one holds the publisher back: once the ring is full, it reads what is there
  // (mid-stream), the ring fills again, and then it dies.
  const holding = (received) => topic.stats().subscribers.some((s) => s.messagesReceived === received && s.lagBytes > topic.capacity - 4096);
  await until(() => holding(0), 'the ring filling up behind the slow subscriber');
  const first = await doomed.ask('drain');
  t.ok(first.received > 0 && first.errors.length === 0, `it received ${first.received} messages, then`);
  await until(() => holding(first.received), 'the ring filling up again');
  doomed.child.kill('SIGKILL');
  const results = await within(Promise.all(subs.map((s) => s.lines)), 'the other subscribers receiving every message');
  t.same(await pub.lines, ['done'], 'the publisher was not held by the dead subscriber');
  for (const lines of results) t.same(JSON.parse(lines.at(-1)), { received: count, lost: 0, first: 0, last: count - 1, errors: [] });
});

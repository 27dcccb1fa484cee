// What a full ring does, chosen at creation: 'block' holds publishers back until the
// slowest subscriber makes room; 'overwrite' never holds them, and a subscriber that fell
// behind is told exactly how many messages it lost; 'disconnect' drops that subscriber.
// The slow subscriber is another process that reads only when told (no timing).
import t from 'tap';
import { Topic } from 'podshm';
import { uniqueName, within } from '../helpers.mjs';
import { message, readyNumbers } from '../fixtures/topic-messages.mjs';
import { peer } from './peer.mjs';

/** A topic with two subscribers: a slow one in another process, that reads only when told, and a fast one here. */
async function slowAndFast(t, publishers, policy) {
  const tp = Topic.create(uniqueName('topicpol'), { capacity: 4096, subscribers: 2, publishers, policy });
  t.teardown(() => (tp.close(), tp.unlink()));
  const slow = peer(t, ['slow', tp.name]);
  await within(slow.ready, 'the slow subscriber attaching');
  return { tp, slow, fast: tp.subscriber() };
}

const range = (from, to) => Array.from({ length: to - from }, (_, i) => from + i);

for (const publishers of ['multi', 'single']) {
  t.test(`'block': the slowest subscriber holds publishers back until it reads (publishers '${publishers}')`, async (t) => {
    const { tp, slow, fast } = await slowAndFast(t, publishers, 'block');
    const pub = tp.publisher();
    let n = 0;
    while (pub.tryPublish(message(n))) n++;
    t.ok(n > 10, `${n} messages filled the ring`);
    t.same(readyNumbers(fast), range(0, n), 'the fast subscriber read them all');
    t.notOk(pub.tryPublish(message(n)), 'the ring is still full: the slow subscriber holds it');
    await t.rejects(pub.publish(message(n), { timeout: 100 }), { code: 'ETIMEDOUT' }, 'a publish waits for it, and times out');
    const waiting = pub.publish(message(n));
    // As it reads, the room it frees lets the waiting publish through: it may see that message too.
    const first = await slow.ask('drain');
    t.same(first.errors, [], 'the slow subscriber got intact messages in order');
    t.ok(first.received >= n && first.last === first.received - 1 && first.first === 0, `it got every message (${first.received})`);
    await within(waiting, 'the waiting publish completing once the slow subscriber read');
    t.same(readyNumbers(fast), [n]);
    t.same(await slow.ask('drain'), { received: n + 1, lost: 0, first: 0, last: n, errors: [] });
  });

  t.test(`'overwrite': publishers never wait; a slow subscriber's received + lost is what was published (publishers '${publishers}')`, async (t) => {
    const { tp, slow, fast } = await slowAndFast(t, publishers, 'overwrite');
    const pub = tp.publisher();
    const published = 2000;
    const fastGot = [];
    for (let n = 0; n < published; n++) {
      if (!pub.tryPublish(message(n))) t.fail(`message ${n} was refused`);
      if (n % 10 === 9) fastGot.push(...readyNumbers(fast));
    }
    fastGot.push(...readyNumbers(fast));
    t.same(fastGot, range(0, published), 'a subscriber that keeps up loses nothing');
    t.equal(fast.lost, 0);
    const r = await slow.ask('drain');
    t.same(r.errors, [], 'what the slow subscriber received is intact and in order');
    t.equal(r.last, published - 1, 'it ends with the newest message');
    t.ok(r.lost > 0, `it lost ${r.lost}`);
    t.equal(r.received + r.lost, published, 'received + lost = published');
    // Later messages come without loss once it keeps up again.
    for (let n = published; n < published + 5; n++) pub.tryPublish(message(n));
    const again = await slow.ask('drain');
    t.same([again.received - r.received, again.lost, again.last], [5, r.lost, published + 4]);
  });

  t.test(`'disconnect': a subscriber that falls a ring behind is dropped with a typed error, and its slot is freed (publishers '${publishers}')`, async (t) => {
    const { tp, slow, fast } = await slowAndFast(t, publishers, 'disconnect');
    t.throws(() => tp.subscriber(), { code: 'EBUSY' }, 'both subscriber slots are taken');
    const pub = tp.publisher();
    const published = 500;
    const fastGot = [];
    for (let n = 0; n < published; n++) {
      if (!pub.tryPublish(message(n))) t.fail(`message ${n} was refused`);
      fastGot.push(...readyNumbers(fast));
    }
    t.same(fastGot, range(0, published), 'the subscriber that keeps up gets everything');
    t.same(await slow.ask('drain'), { error: 'SubscriberDroppedError', code: 'ERR_SUBSCRIBER_DROPPED', received: 0 });
    const late = tp.subscriber();
    t.ok(late, 'the dropped subscriber’s slot was taken by a new one');
    pub.tryPublish(message(published));
    t.same(readyNumbers(late), [published]);
    t.same(readyNumbers(fast), [published]);
  });
}

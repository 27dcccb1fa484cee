// A late joiner asks for the last N messages still in the ring, or only new ones.
import t from 'tap';
import { Topic } from 'podshm';
import { uniqueName, within } from '../helpers.mjs';
import { message } from '../fixtures/topic-messages.mjs';
import { peer } from './peer.mjs';

function topic(t, publishers, opts) {
  const tp = Topic.create(uniqueName('topichist'), { capacity: 1 << 16, subscribers: 4, publishers, ...opts });
  t.teardown(() => (tp.close(), tp.unlink()));
  return tp;
}

for (const publishers of ['multi', 'single']) {
  t.test(`a late joiner in another process gets the last N messages it asked for, then new ones (publishers '${publishers}')`, async (t) => {
    const tp = topic(t, publishers);
    const pub = tp.publisher();
    for (let n = 0; n < 50; n++) pub.publishSync(message(n));
    const joiner = peer(t, ['subscribe', tp.name, '15', '10']);
    await within(joiner.ready, 'the late joiner attaching');
    for (let n = 50; n < 55; n++) pub.publishSync(message(n));
    t.same(JSON.parse((await within(joiner.lines, 'the joiner receiving')).at(-1)), { received: 15, lost: 0, first: 40, last: 54, errors: [] });
  });

  t.test(`by default a joiner gets only what is published after it attached (publishers '${publishers}')`, async (t) => {
    const tp = topic(t, publishers);
    const pub = tp.publisher();
    for (let n = 0; n < 50; n++) pub.publishSync(message(n));
    const joiner = peer(t, ['subscribe', tp.name, '5']);
    await within(joiner.ready, 'the joiner attaching');
    for (let n = 50; n < 55; n++) pub.publishSync(message(n));
    t.same(JSON.parse((await within(joiner.lines, 'the joiner receiving')).at(-1)), { received: 5, lost: 0, first: 50, last: 54, errors: [] });
  });

  t.test(`asking for more history than the ring holds gives what it holds, from the oldest (publishers '${publishers}')`, async (t) => {
    const tp = topic(t, publishers);
    const pub = tp.publisher();
    for (let n = 0; n < 20; n++) pub.publishSync(message(n));
    const all = tp.subscriber({ history: 1000 });
    const got = [];
    for (let msg = all.tryReceive(); msg !== null; msg = all.tryReceive()) got.push(new DataView(msg.buffer).getUint32(0, true));
    t.same(got, Array.from({ length: 20 }, (_, i) => i));
  });

  t.test(`under 'overwrite', history is what is still in the ring after it wrapped (publishers '${publishers}')`, async (t) => {
    const tp = topic(t, publishers, { capacity: 4096, policy: 'overwrite' });
    const pub = tp.publisher();
    for (let n = 0; n < 1000; n++) pub.publishSync(message(n));
    const joiner = tp.subscriber({ history: 1000 });
    const got = [];
    for (let msg = joiner.tryReceive(); msg !== null; msg = joiner.tryReceive()) got.push(new DataView(msg.buffer).getUint32(0, true));
    t.ok(got.length > 5 && got.length < 1000, `${got.length} messages were still there`);
    t.same(got, Array.from({ length: got.length }, (_, i) => 1000 - got.length + i), 'the newest ones, in order, ending with the last');
    t.equal(joiner.lost, 0, 'what was gone before it joined is not counted as lost');
  });

  t.test(`a cancelled reservation is skipped by subscribers and by history alike (publishers '${publishers}')`, async (t) => {
    const tp = topic(t, publishers);
    const pub = tp.publisher();
    const sub = tp.subscriber();
    pub.publishSync(message(0));
    (await pub.reserve(100)).cancel();
    const dropped = pub.reserveSync(100);
    dropped.bytes.fill(1);
    dropped[Symbol.dispose](); // uncommitted: disposing of it cancels it
    pub.publishSync(message(1));
    const late = tp.subscriber({ history: 2 });
    const numbers = (s) => [s.tryReceive(), s.tryReceive(), s.tryReceive()].map((m) => m && new DataView(m.buffer, m.byteOffset).getUint32(0, true));
    t.same(numbers(sub), [0, 1, null]);
    t.same(numbers(late), [0, 1, null]);
  });
}

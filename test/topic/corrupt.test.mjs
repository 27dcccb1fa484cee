// Hostile memory: every value a topic reads from shared memory is checked, and a bad one
// is a TopicCorruptError (a CorruptionError), never a crash, a hang or a wrong message.
import t from 'tap';
import { CorruptionError, SharedMemory, Topic, TopicCorruptError } from 'podshm';
import { uniqueName } from '../helpers.mjs';
import { fuzzInChild } from '../corrupt-fuzz.mjs';
import { message } from '../fixtures/topic-messages.mjs';
import { peer } from './peer.mjs';

function scribbled(t, opts) {
  const tp = Topic.create(uniqueName('topiccorrupt'), { capacity: 4096, subscribers: 2, ...opts });
  const raw = SharedMemory.open(tp.name);
  t.teardown(() => (raw.close(), tp.close(), tp.unlink()));
  return { tp, i32: new Int32Array(raw.buffer) };
}

t.test('open() refuses a bad header with TopicCorruptError naming the word', async (t) => {
  for (const [offset, value, what] of [
    [0, 0x43485350, /bad magic/],
    [4, 9, /layout version 9/],
    [8, 12345, /capacity 12345/],
    [12, 7, /unknown policy 7/],
    [16, 4096, /data offset 4096/],
    [20, 0, /table of 0 subscribers/],
    [20, 1000, /table of 1000 subscribers/],
    [24, 3, /table of 3 publishers/],
    [28, -1, /unknown wait strategy/],
  ]) {
    const { tp, i32 } = scribbled(t);
    i32[offset >> 2] = value;
    t.throws(() => Topic.open(tp.name), { name: 'TopicCorruptError', offset, value, message: what }, `word ${offset} = ${value}`);
  }
  const { tp, i32 } = scribbled(t);
  i32[0] = 0;
  try {
    Topic.open(tp.name);
    t.fail('opened');
  } catch (err) {
    t.ok(err instanceof CorruptionError && err.code === 'ERR_PODSHM_CORRUPT', 'a CorruptionError, like every corrupt object');
  }
});

t.test('a subscriber reading a scribbled record header: TopicCorruptError, never a message', async (t) => {
  // Words 0-3 of the first record (the data area starts after the 8 KiB header).
  for (const publishers of ['multi', 'single']) for (const [word, value] of [[0, 0x7ff1], [0, 5], [1, 4000], [2, 64], [3, 99]]) {
    const { tp, i32 } = scribbled(t, { publishers });
    const sub = tp.subscriber();
    tp.publisher().publishSync(message(0));
    i32[(8192 >> 2) + word] = value;
    t.throws(() => sub.tryReceive(), TopicCorruptError, `${publishers}: record word ${word} = ${value}`);
  }
});

t.test("a publisher reading a subscriber's scribbled cursor or state, or a scribbled head or tail: TopicCorruptError", async (t) => {
  // A single publisher reads HEAD only as it starts (below), and TAIL when the ring is full.
  for (const [publishers, offset, value] of [
    ['multi', 4096 + 8, 24],
    ['multi', 4096 + 8, 4],
    ['multi', 4096, 9],
    ['multi', 128, 8],
    ['single', 4096 + 8, 24],
    ['single', 4096 + 8, 4],
    ['single', 4096, 9],
    ['single', 256, 8],
  ]) {
    const { tp, i32 } = scribbled(t, { publishers });
    tp.subscriber();
    const pub = tp.publisher();
    // The cursor is looked at only when the ring is full.
    for (let n = 0; pub.tryPublish(message(n)); n++);
    i32[offset >> 2] = value;
    t.throws(() => pub.tryPublish(new Uint8Array(2000)), TopicCorruptError, `${publishers}: word ${offset} = ${value}`);
  }
  // A single publisher starting where HEAD, or the word 0 at HEAD (after one 100-byte message: 128), is scribbled.
  for (const [offset, value] of [[128, 8], [128, 4096 + 16], [8192 + 128, 5]]) {
    const { tp, i32 } = scribbled(t, { publishers: 'single' });
    const first = tp.publisher();
    first.publishSync(new Uint8Array(100));
    first.close();
    i32[offset >> 2] = value;
    t.throws(() => tp.publisher(), TopicCorruptError, `single, starting: word ${offset} = ${value}`);
    t.doesNotThrow(() => Topic.open(tp.name).close(), 'the slot was given back');
  }
});

t.test('a publisher that starts where HEAD does not lead to the end of the records from TAIL: TopicCorruptError, before it writes', async (t) => {
  for (const publishers of ['single', 'multi']) for (const policy of ['block', 'overwrite', 'disconnect']) {
    const what = `${publishers}, '${policy}'`;
    const { tp, i32 } = scribbled(t, { publishers, policy });
    const sub = tp.subscriber();
    const first = tp.publisher();
    first.publishSync(message(0, 100));
    first.close();
    // Word 0 at 1024 is 0, as at the end of the records (128), where the subscriber waits.
    i32[128 >> 2] = 1024;
    const refused = { name: 'TopicCorruptError', offset: 128, value: 1024 };
    if (publishers === 'single') t.throws(() => tp.publisher(), refused, `${what}: the publisher does not start`);
    else {
      // Several publishers: checked under the lock, at the first claim.
      const pub = tp.publisher();
      t.throws(() => pub.tryPublish(message(1)), refused, `${what}: its first publish`);
      t.throws(() => pub.tryReserve(8), refused, `${what}: and every claim after`);
      pub.close();
    }
    t.same(sub.tryReceive(), message(0, 100), `${what}: the message published is there`);
    t.equal(sub.tryReceive(), null, `${what}: nothing else`);
    // HEAD behind the last record is what a publisher that died before moving it leaves: not corruption.
    i32[128 >> 2] = 0;
    const next = tp.publisher();
    next.publishSync(message(1));
    t.same(sub.tryReceive(), message(1), `${what}: a HEAD left behind the records is passed`);
    t.equal(sub.lost, 0, `${what}: nothing lost`);
    next.close();
  }
});

t.test('word 24 (the publisher mode) scribbled: a publisher of the other mode beside a live one is refused before it writes', async (t) => {
  // [created as, scribbled to]: a lock-taking publisher beside a live single one, and the reverse.
  for (const [publishers, scribble] of [['single', 48], ['multi', 1]]) {
    const { tp, i32 } = scribbled(t, { publishers });
    const sub = tp.subscriber();
    // A multi publisher takes the lowest free slot: the live one is put in slot 1, so a
    // single publisher's slot 0 is free for the one that comes next.
    const slot0 = publishers === 'multi' ? tp.publisher() : null;
    const live = peer(t, ['publisher', tp.name]);
    await live.ready;
    slot0?.close();
    t.same(await live.ask('0 3'), { published: 3 });
    i32[24 >> 2] = scribble;
    const other = Topic.open(tp.name);
    t.equal(other.publishers, publishers === 'single' ? 'multi' : 'single', `${publishers}: the opener reads the scribbled mode`);
    t.throws(() => other.publisher(), { name: 'TopicCorruptError', offset: 24, message: /header changed/ }, `${publishers}: refused`);
    other.close();
    i32[24 >> 2] = publishers === 'single' ? 1 : 48;
    t.same(await live.ask('3 3'), { published: 3 });
    for (let n = 0; n < 6; n++) t.same(sub.tryReceive(), message(n), `${publishers}: message ${n}`);
    t.equal(sub.tryReceive(), null);
    t.equal(sub.lost, 0, `${publishers}: nothing lost`);
    live.child.kill('SIGKILL');
  }
});

t.test('word 24 scribbled under a live publisher: TopicCorruptError when it next moves TAIL', async (t) => {
  for (const [publishers, scribble] of [['single', 48], ['multi', 1]]) {
    const { tp, i32 } = scribbled(t, { publishers });
    const pub = tp.publisher();
    i32[24 >> 2] = scribble;
    // Less than two rings of messages: TAIL moves at least once.
    t.throws(
      () => {
        for (let n = 0; n < 128; n++) pub.publishSync(message(n));
      },
      { name: 'TopicCorruptError', offset: 24, value: scribble, message: /header changed/ },
      publishers,
    );
  }
});

t.test("under 'block', a TAIL scribbled past a subscriber is corruption once it reaches it; messages stay intact", async (t) => {
  const { tp, i32 } = scribbled(t);
  const sub = tp.subscriber();
  const pub = tp.publisher();
  for (let n = 0; n < 3; n++) pub.publishSync(message(n));
  i32[256 >> 2] = i32[128 >> 2] + 16;
  // Under 'block' nothing is overwritten ahead of a live subscriber, so its copies are
  // not checked against TAIL one by one: what is there is intact.
  for (let n = 0; n < 3; n++) t.same(sub.tryReceive(), message(n));
  t.throws(() => sub.tryReceive(), { name: 'TopicCorruptError', message: /passed the cursor/ });
  t.throws(() => pub.tryPublish(message(3)), { name: 'TopicCorruptError', offset: 256 });
});

t.test('fuzz: random header, slot and record words never crash or hang (bounded run in a child)', async (t) => {
  await fuzzInChild(t, 'topic', 300, 'TopicCorruptError');
});

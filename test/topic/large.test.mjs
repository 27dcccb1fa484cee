// 4 MiB messages with no copy on either side: the publisher fills its reservation in the
// ring, four subscriber processes read it there as views, and every byte arrives.
import t from 'tap';
import { createHash, randomFillSync } from 'node:crypto';
import { Topic } from 'podshm';
import { uniqueName, within } from '../helpers.mjs';
import { peer } from './peer.mjs';

const SIZE = 4 << 20;
// A 16 MiB ring (the smallest that carries 4 MiB: the largest message is capacity / 2 - 16) holds three: the fourth and
// fifth go round past a padding record, into room the subscribers gave back.
const COUNT = 5;

t.test('4 MiB messages reserved in the ring reach 4 subscriber processes intact, as views', async (t) => {
  const topic = Topic.create(uniqueName('topicbig'), { capacity: 1 << 24, subscribers: 4 });
  t.teardown(() => (topic.close(), topic.unlink()));
  const subs = [0, 1, 2, 3].map(() => peer(t, ['views', topic.name, String(COUNT)]));
  await within(Promise.all(subs.map((s) => s.ready)), 'four subscribers attaching');
  const pub = topic.publisher();
  const hashes = [];
  for (let i = 0; i < COUNT; i++) {
    const r = await within(pub.reserve(SIZE), `room for message ${i}`, 120_000);
    t.ok(r.bytes.buffer instanceof SharedArrayBuffer, `reservation ${i} lies in the ring`);
    randomFillSync(r.bytes);
    hashes.push(createHash('sha256').update(r.bytes).digest('hex'));
    r.commit();
  }
  const results = await within(Promise.all(subs.map((s) => s.lines)), 'every subscriber receiving every message', 120_000);
  for (const lines of results) t.same(JSON.parse(lines.at(-1)), { lengths: Array(COUNT).fill(SIZE), hashes, inRing: true });
  t.equal(topic.stats().messagesPublished, COUNT, 'each message was written once');
});

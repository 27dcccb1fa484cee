// A sendMany that stops part way (a timeout, the consumer gone) says how many messages
// it sent, so the caller can send the rest without losing or duplicating any.
import t from 'tap';
import { Channel } from 'podshm';
import { uniqueName } from '../helpers.mjs';

const message = (i) => new Uint8Array(64).fill(i & 0xff).map((v, j) => (j < 4 ? (i >> (8 * j)) & 0xff : v));
const indexOf = (m) => m[0] | (m[1] << 8) | (m[2] << 16) | (m[3] << 24);
const BATCH = Array.from({ length: 100 }, (_, i) => message(i));

/** A channel of 4 KiB (fewer than BATCH's messages fit), removed when `t` ends; its two ends. */
function ends(t, tag, opts) {
  const name = uniqueName(tag);
  const ch = Channel.create(name, { ...opts, capacity: 4096 });
  t.teardown(() => {
    ch.close();
    Channel.unlink(name);
  });
  return { rx: ch.receiver({ producersGone: 'end' }), tx: ch.sender() };
}

for (const producers of ['single', 'multi']) {
  t.test(`${producers} producer: a timed-out batch reports what it sent`, async (t) => {
    const { rx, tx } = ends(t, `partial-${producers}`, { producers });
    const batch = BATCH;

    const err = t.throws(() => tx.sendManySync(batch, { timeout: 30 }), { code: 'ETIMEDOUT' }, 'more than the ring holds, nobody reading');
    t.type(err.sent, 'number');
    t.ok(err.sent > 0 && err.sent < batch.length, `sent ${err.sent} of ${batch.length}`);
    const got = [];
    for (let m; (m = rx.tryReceive()) !== null; ) got.push(indexOf(m));
    t.same(got, [...Array(err.sent).keys()], 'exactly the first `sent` messages are in the ring');

    tx.sendManySync(batch.slice(err.sent));
    for (let m; (m = rx.tryReceive()) !== null; ) got.push(indexOf(m));
    t.same(got, [...Array(batch.length).keys()], 'resending the rest delivers each message once, in order');
  });
}

t.test('the async sendMany reports what it sent too', async (t) => {
  const { rx, tx } = ends(t, 'partial-async', { producers: 'multi' });
  const batch = BATCH;
  const err = await tx.sendMany(batch, { timeout: 30 }).then(() => null, (e) => e);
  t.match(err, { code: 'ETIMEDOUT' }, 'more than the ring holds, nobody reading');
  t.ok(err.sent > 0 && err.sent < batch.length, `sent ${err.sent} of ${batch.length}`);
  const got = [];
  for (let m; (m = rx.tryReceive()) !== null; ) got.push(indexOf(m));
  t.same(got, [...Array(err.sent).keys()], 'exactly the first `sent` messages are in the ring');
});

t.test('a batch cut short by the consumer going reports what it sent', async (t) => {
  const { rx, tx } = ends(t, 'partial-gone');
  const batch = BATCH;
  const first = t.throws(() => tx.sendManySync(batch, { timeout: 30 }), { code: 'ETIMEDOUT' });
  rx.close();
  const err = t.throws(() => tx.sendManySync(batch.slice(first.sent), { timeout: 30 }), { code: 'ERR_PEER_GONE' });
  t.equal(err.sent, 0, 'nothing of the second batch was sent');
});

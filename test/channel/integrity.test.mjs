// Ordering and integrity across processes: every byte of every message is checked
// against the stream its producer was to send (sizes from 1 byte to the maximum,
// send/reserve/send/sendMany mixed, a small ring so that it wraps hundreds of times).
import t from 'tap';
import { Channel, PeerGoneError } from 'podshm';
import { node, uniqueName } from '../helpers.mjs';
import { checker } from '../fixtures/channel-messages.mjs';

const CAPACITY = 64 << 10;

function producers(name, n, count) {
  return Array.from({ length: n }, (_, p) => node('channel-producer.mjs', [name, String(p), String(count), 'send', String(n)], { timeoutMs: 60_000 }));
}

t.test('one producer, sync receive: nothing lost, duplicated, reordered or torn', async (t) => {
  const name = uniqueName('ch1');
  const ch = Channel.create(name, { capacity: CAPACITY });
  t.teardown(() => (ch.close(), ch.unlink()));
  const rx = ch.receiver({ producersGone: 'end' });
  const count = 3000;
  const running = producers(name, 1, count);
  // The producer process has to start; receive() blocks this thread, so wait for it asynchronously first.
  const first = await rx.receive({ timeout: 20_000 });
  const c = checker(1, ch.maxMessageSize);
  const errors = [];
  let e = c.check(first);
  if (e) errors.push(e);
  let bytes = first.length;
  for (let i = 1; i < count; i++) {
    const msg = rx.receiveSync({ timeout: 20_000 });
    bytes += msg.length;
    e = c.check(msg);
    if (e && errors.length < 5) errors.push(e);
  }
  const [r] = await Promise.all(running);
  t.equal(r.code, 0, r.stderr);
  t.same(errors, []);
  t.equal(c.next[0], count, 'every message arrived');
  t.ok(bytes > 8 * CAPACITY, `the ring wrapped (${bytes} bytes through ${CAPACITY})`);
  t.throws(() => rx.receiveSync({ timeout: 5_000 }), PeerGoneError, 'then the producer is gone and the ring empty');
});

t.test("three producers, for await with wait 'block': each stream complete and in order", async (t) => {
  const name = uniqueName('ch3');
  const ch = Channel.create(name, { capacity: CAPACITY, producers: 'multi', wait: 'block' });
  t.teardown(() => (ch.close(), ch.unlink()));
  const rx = ch.receiver({ producersGone: 'end' });
  const count = 1500;
  const running = producers(name, 3, count);
  const c = checker(3, ch.maxMessageSize);
  const errors = [];
  let sizes = new Set();
  // The iteration ends when every producer has closed and the ring is drained.
  for await (const msg of rx) {
    sizes.add(msg.length);
    const e = c.check(msg);
    if (e && errors.length < 5) errors.push(e);
  }
  for (const r of await Promise.all(running)) t.equal(r.code, 0, r.stderr);
  t.same(errors, []);
  t.same(c.next, [count, count, count], 'every message of every producer arrived');
  t.ok(sizes.has(1) && sizes.has(ch.maxMessageSize), 'sizes from 1 byte to capacity / 2 - 8');
  const s = ch.stats();
  t.equal(s.messagesSent, 3 * count);
  t.equal(s.producersAlive, 0);
});

t.test("the 'spin' strategy and the drain() batch path", async (t) => {
  const name = uniqueName('chspin');
  const ch = Channel.create(name, { capacity: 4096, wait: 'spin' });
  t.teardown(() => (ch.close(), ch.unlink()));
  const rx = ch.receiver({ producersGone: 'end' });
  const count = 2000;
  const running = producers(name, 1, count);
  const c = checker(1, ch.maxMessageSize);
  const errors = [];
  const handle = (bytes, offset, length) => {
    const e = c.check(bytes.subarray(offset, offset + length));
    if (e && errors.length < 5) errors.push(e);
  };
  const deadline = Date.now() + 30_000;
  while (c.next[0] < count && Date.now() < deadline) {
    if (rx.drain(handle) === 0) await new Promise((r) => setImmediate(r));
  }
  const [r] = await Promise.all(running);
  t.equal(r.code, 0, r.stderr);
  t.same(errors, []);
  t.equal(c.next[0], count);
});

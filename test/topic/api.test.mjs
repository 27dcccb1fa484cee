// The Topic API's rules: bad arguments are typed errors that lose nothing; timeouts are
// ETIMEDOUT, aborts AbortError with the reason as cause; copies are owned, views are
// explicit; reservations commit, cancel, or cancel when disposed of.
import t from 'tap';
import { AbortError, Topic } from 'podshm';
import { uniqueName } from '../helpers.mjs';
import { check, message } from '../fixtures/topic-messages.mjs';

function topic(t, opts) {
  const tp = Topic.create(uniqueName('topicapi'), { capacity: 4096, subscribers: 2, ...opts });
  t.teardown(() => (tp.close(), tp.unlink()));
  return tp;
}

t.test('bad options and arguments are typed errors', async (t) => {
  const name = uniqueName('topicargs');
  t.throws(() => Topic.create(name, { capacty: 4096 }), { name: 'ArgumentError', code: 'ERR_UNKNOWN_OPTION', message: 'Unknown option "capacty"; did you mean "capacity"?' });
  t.throws(() => Topic.create(name, { capacity: 5000 }), { code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => Topic.create(name, { capacity: '4096' }), { code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => Topic.create(name, { subscribers: 0 }), { code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => Topic.create(name, { subscribers: 257 }), { code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => Topic.create(name, { policy: 'drop' }), { code: 'ERR_OUT_OF_RANGE', message: /'block', 'overwrite', 'disconnect'/ });
  t.throws(() => Topic.create(name, { wait: 'busy' }), { code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => Topic.create(name, 'big'), { code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => Topic.open(name, { dirr: '/dev/shm' }), { code: 'ERR_UNKNOWN_OPTION', message: /did you mean "dir"/ });
  t.throws(() => Topic.open(name), { code: 'ENOENT' }, 'nothing was created by the refused calls');

  const tp = topic(t);
  t.throws(() => tp.subscriber({ histroy: 3 }), { code: 'ERR_UNKNOWN_OPTION', message: /did you mean "history"/ });
  t.throws(() => tp.subscriber({ history: -1 }), { code: 'ERR_OUT_OF_RANGE' });
  const pub = tp.publisher();
  const sub = tp.subscriber();
  t.throws(() => pub.publishSync('text'), { code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => pub.publishSync(new Uint8Array(tp.maxMessageSize + 1)), { code: 'EMSGSIZE' });
  t.throws(() => pub.publishSync(message(0), { timout: 5 }), { code: 'ERR_UNKNOWN_OPTION', message: /did you mean "timeout"/ });
  await t.rejects(pub.publish(message(0), { signl: null }), { code: 'ERR_UNKNOWN_OPTION', message: /did you mean "signal"/ });
  t.throws(() => pub.tryReserve(-1), { code: 'ERR_OUT_OF_RANGE' });
  await t.rejects(sub.receive({ timeout: -1 }), { code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => sub.drain('f'), { code: 'ERR_INVALID_ARG_TYPE' });
  t.equal(tp.maxMessageSize, 4096 / 2 - 16);
  t.equal(sub.tryReceive(), null, 'nothing was published by the refused calls');
  pub.publishSync(new Uint8Array(tp.maxMessageSize));
  t.equal(sub.receiveSync().length, tp.maxMessageSize, 'the largest message goes through');
});

t.test('timeouts reject with ETIMEDOUT; an abort with AbortError whose cause is the reason', async (t) => {
  const tp = topic(t);
  const sub = tp.subscriber();
  await t.rejects(sub.receive({ timeout: 10 }), { code: 'ETIMEDOUT' });
  t.throws(() => sub.receiveSync({ timeout: 10 }), { code: 'ETIMEDOUT' });
  const ac = new AbortController();
  const pending = sub.receive({ signal: ac.signal });
  t.throws(() => sub.tryReceive(), { code: 'EBUSY' }, 'one receive at a time');
  const reason = new Error('shutting down');
  ac.abort(reason);
  const err = await pending.catch((e) => e);
  t.ok(err instanceof AbortError, 'AbortError');
  t.equal(err.code, 'ABORT_ERR');
  t.equal(err.cause, reason);
  await t.rejects(sub.receive({ signal: AbortSignal.abort('early') }), { code: 'ABORT_ERR', cause: 'early' });
});

t.test('receive() hands out an owned copy; receiveView() a view, valid until the next receive', async (t) => {
  const tp = topic(t, { capacity: 1 << 16 });
  const pub = tp.publisher();
  const sub = tp.subscriber();
  for (let n = 0; n < 200; n++) pub.publishSync(message(n));
  const kept = sub.receiveSync();
  t.notOk(kept.buffer instanceof SharedArrayBuffer, 'a copy, not ring memory');
  for (let n = 1; n < 200; n++) t.same(check(sub.receiveSync()), { n }, `message ${n}`, { diagnostic: false });
  for (let n = 200; n < 400; n++) pub.publishSync(message(n));
  t.same(check(kept), { n: 0 }, 'the copy did not change as the ring went round');
  const view = sub.receiveViewSync();
  t.ok(view.buffer instanceof SharedArrayBuffer, 'a view into the ring');
  t.same(check(view), { n: 200 });
  t.same(check(await sub.receiveView()), { n: 201 });
  t.same(check(sub.tryReceiveView()), { n: 202 });
  const seen = [];
  t.equal(sub.drain((bytes, offset, length) => seen.push(check(bytes.subarray(offset, offset + length)).n), 5), 5);
  t.same(seen, [203, 204, 205, 206, 207]);
});

t.test("zero-copy receives need 'block'", async (t) => {
  for (const policy of ['overwrite', 'disconnect']) {
    const sub = topic(t, { policy }).subscriber();
    t.throws(() => sub.receiveViewSync(), { code: 'EINVAL', message: /need the 'block' policy/ });
    t.throws(() => sub.drain(() => {}), { code: 'EINVAL' });
    await t.rejects(sub.receiveView(), { code: 'EINVAL' });
  }
});

t.test('reserve/commit publishes in place; cancel and dispose give the room back; a reservation ends once', async (t) => {
  const tp = topic(t);
  const pub = tp.publisher();
  const sub = tp.subscriber();
  const r = await pub.reserve(100);
  r.bytes.set(message(7, 100));
  r.commit();
  t.throws(() => r.commit(), { code: 'EINVAL' });
  t.throws(() => r.cancel(), { code: 'EINVAL' });
  const short = pub.reserveSync(200);
  short.bytes.set(message(8, 50));
  short.commit(50);
  pub.tryReserve(10).cancel();
  pub.reserveSync(10)[Symbol.dispose]();
  t.same(check(sub.receiveSync(), 100), { n: 7 });
  t.same(check(sub.receiveSync(), 50), { n: 8 });
  t.equal(sub.tryReceive(), null, 'the cancelled reservations are not messages');
});

t.test('for await receives until the subscriber is closed; close, unlink, dispose', async (t) => {
  const tp = topic(t);
  const pub = tp.publisher();
  const sub = tp.subscriber();
  for (let n = 0; n < 3; n++) pub.publishSync(message(n));
  const got = [];
  for await (const msg of sub) {
    got.push(check(msg).n);
    if (got.length === 3) setImmediate(() => sub.close());
  }
  t.same(got, [0, 1, 2]);
  t.throws(() => sub.tryReceive(), { code: 'EBADF' });
  t.equal(tp.subscriber().closed, false, 'the slot is free again');
  pub[Symbol.dispose]();
  t.throws(() => pub.tryPublish(message(0)), { code: 'EBADF' });
  const other = Topic.open(tp.name);
  other.close();
  other.close();
  t.throws(() => other.publisher(), { code: 'EBADF' });
  const name = uniqueName('topicunlink');
  const gone = Topic.create(name, { capacity: 4096 });
  gone.unlink();
  t.throws(() => gone.unlink(), { code: 'ENOENT' });
  t.throws(() => Topic.unlink(name), { code: 'ENOENT' });
  gone[Symbol.dispose]();
  t.equal(gone.closed, true);
});

t.test('a full subscriber table is EBUSY; the publisher table holds 48', async (t) => {
  const tp = topic(t);
  tp.subscriber();
  tp.subscriber();
  t.throws(() => tp.subscriber(), { code: 'EBUSY', message: /all 2 subscriber slots/ });
  const pubs = Array.from({ length: 48 }, () => tp.publisher());
  t.throws(() => tp.publisher(), { code: 'EBUSY' });
  pubs[0].close();
  t.ok(tp.publisher(), 'a closed publisher’s slot is free again');
});

t.test('Topic.create: exclusive by default, like every create; exclusive: false opens a matching one', async (t) => {
  const tp = topic(t, { subscribers: 3, policy: 'overwrite' });
  t.throws(() => Topic.create(tp.name, { capacity: 4096, subscribers: 3, policy: 'overwrite' }), { code: 'EEXIST' });
  const same = Topic.create(tp.name, { capacity: 4096, subscribers: 3, policy: 'overwrite', exclusive: false });
  t.teardown(() => same.close());
  const sub = tp.subscriber();
  same.publisher().publishSync(message(7));
  t.same(sub.receiveSync({ timeout: 10_000 }), message(7), 'the same topic');
  t.throws(() => Topic.create(tp.name, { capacity: 4096, subscribers: 3, exclusive: false }), { code: 'EINVAL', message: /policy 'overwrite'/ }, 'the default policy counts as asked for');
  t.throws(() => Topic.create(tp.name, { exclusive: 1 }), { code: 'ERR_INVALID_ARG_TYPE' });
});

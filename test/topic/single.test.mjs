// A single-publisher topic (publishers: 'single'): one publisher at a time, publishing
// without the topic's lock. A second publisher is refused; subscribers attach while it
// publishes and start at a whole message. (Its publishers killed at any point:
// test/sync/crash-trials.test.mjs; its header and records scribbled on: corrupt.test.mjs
// and test/core/header-fuzz.test.mjs; the liveness rules: liveness.test.mjs.)
import t from 'tap';
import { Topic } from 'podshm';
import { uniqueName, within } from '../helpers.mjs';
import { check, message } from '../fixtures/topic-messages.mjs';
import { peer } from './peer.mjs';

function topic(t, opts) {
  const tp = Topic.create(uniqueName('topicsingle'), { capacity: 4096, subscribers: 4, publishers: 'single', ...opts });
  t.teardown(() => (tp.close(), tp.unlink()));
  return tp;
}

const killed = (child) => new Promise((resolve) => {
  child.once('exit', resolve);
  child.kill('SIGKILL');
});

t.test("the option: 'single' or 'multi' (the default), kept in the header", async (t) => {
  const name = uniqueName('topicsingleargs');
  t.throws(() => Topic.create(name, { publishers: 'one' }), { name: 'ArgumentError', code: 'ERR_OUT_OF_RANGE', message: /'single' or 'multi'/ });
  t.throws(() => Topic.create(name, { publisher: 'single' }), { code: 'ERR_UNKNOWN_OPTION', message: /did you mean "publishers"/ });
  const tp = topic(t);
  t.equal(tp.publishers, 'single');
  const other = Topic.open(tp.name);
  t.equal(other.publishers, 'single', 'an opener reads the mode from the header');
  other.close();
  t.throws(() => Topic.create(tp.name, { capacity: 4096, subscribers: 4, exclusive: false }), { code: 'EINVAL', message: /publishers 'single'/ }, 'a multi-publisher open of it is refused');
  const again = Topic.create(tp.name, { capacity: 4096, subscribers: 4, publishers: 'single', exclusive: false });
  t.equal(again.publishers, 'single');
  again.close();
  const multi = Topic.create(uniqueName('topicmultiargs'), { capacity: 4096 });
  t.teardown(() => (multi.close(), multi.unlink()));
  t.equal(multi.publishers, 'multi');
});

t.test('a second publisher is EBUSY, in this process or another; once the first has gone, a new one publishes', async (t) => {
  const tp = topic(t);
  const sub = tp.subscriber();
  const first = tp.publisher();
  t.throws(() => tp.publisher(), { code: 'EBUSY', message: /single-publisher topic already has a live publisher/ });
  const elsewhere = peer(t, ['publish', tp.name, '0', '1']);
  await t.rejects(within(elsewhere.lines, 'the other process failing'), /EBUSY/, 'a publisher in another process too');
  first.publishSync(message(0));
  first.close();
  const second = tp.publisher();
  second.publishSync(message(1));
  t.same([check(sub.tryReceive()), check(sub.tryReceive()), sub.tryReceive()], [{ n: 0 }, { n: 1 }, null]);
  second.close();
  // The first one's process gone: SIGKILL frees the slot as close() does.
  const holder = peer(t, ['reserve', tp.name]);
  await within(holder.ready, 'a publisher in another process');
  t.throws(() => tp.publisher(), { code: 'EBUSY' });
  await killed(holder.child);
  tp.publisher().publishSync(message(2));
  t.same(check(sub.receiveSync({ timeout: 20_000 })), { n: 2 }, 'past the dead publisher’s reservation');
});

for (const policy of ['block', 'overwrite']) {
  t.test(`subscribers attach while the publisher publishes: each starts at a whole message and receives every one after it, in order ('${policy}')`, async (t) => {
    const tp = topic(t, { capacity: 1 << 14, policy });
    const flood = peer(t, ['flood', tp.name, '0']);
    await within(flood.ready, 'the publisher starting');
    // Between subscribers (and all along under 'overwrite') the publisher waits for nobody,
    // so attaching (and the walk for history) races with records being written and the
    // tail moving.
    for (let round = 0; round < 200; round++) {
      const sub = tp.subscriber({ history: round % 3 === 0 ? 0 : round });
      let last = -1;
      for (let i = 0; i < 20; i++) {
        const msg = sub.receiveSync({ timeout: 20_000 });
        const { n, error } = check(msg);
        if (error) t.fail(`round ${round}: ${error}`);
        // Under 'overwrite' a subscriber may be lapped: then numbers skip, as counted in lost.
        if (last >= 0 && (policy === 'block' ? n !== last + 1 : n <= last)) t.fail(`round ${round}: message ${n} after ${last}`);
        last = n;
      }
      sub.close();
    }
    t.pass('200 subscribers attached during publishing');
  });
}

t.test("'overwrite': the publisher's own reservation at the tail holds it back, never overwritten, until committed", async (t) => {
  const tp = topic(t, { policy: 'overwrite' });
  const sub = tp.subscriber();
  const pub = tp.publisher();
  const r = pub.reserveSync(64);
  r.bytes.set(message(0, 64));
  let n = 1;
  while (pub.tryPublish(message(n))) n++;
  t.ok(n > 20, `${n - 1} messages went in after it, then the ring was full`);
  t.same(check(r.bytes, 64), { n: 0 }, 'the reservation was not overwritten');
  r.commit();
  for (let k = n; k < n + 100; k++) if (!pub.tryPublish(message(k))) t.fail(`message ${k}: no room after the commit`);
  let last = -1;
  for (let msg = sub.tryReceive(); msg !== null; msg = sub.tryReceive()) {
    const { n: got, error } = check(msg, msg.length === 64 ? 64 : undefined);
    if (error || got <= last) t.fail(error ?? `message ${got} after ${last}`);
    last = got;
  }
  t.equal(last, n + 99, 'the subscriber reached the last one');
  t.equal(sub.received + sub.lost, n + 100, 'received + lost is what was published');
});

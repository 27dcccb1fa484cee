// Participants that die: a SIGKILLed subscriber stops holding room (the publisher waiting
// for it hears of its death, no polling); a publisher SIGKILLed mid-reserve leaves no torn
// message and holds back nobody once gone.
import t from 'tap';
import { Topic } from 'podshm';
import { uniqueName, within } from '../helpers.mjs';
import { check, message, readyNumbers } from '../fixtures/topic-messages.mjs';
import { peer } from './peer.mjs';

const killed = (child) => new Promise((resolve) => {
  child.once('exit', resolve);
  child.kill('SIGKILL');
});

function topic(t, opts) {
  const tp = Topic.create(uniqueName('topiclive'), { capacity: 4096, subscribers: 3, ...opts });
  t.teardown(() => (tp.close(), tp.unlink()));
  return tp;
}

for (const [wait, publishers] of [['adaptive', 'multi'], ['block', 'multi'], ['adaptive', 'single']]) {
  t.test(`a SIGKILLed subscriber stops holding room; a waiting publish goes on and the others lose nothing (wait '${wait}', publishers '${publishers}')`, async (t) => {
    const tp = topic(t, { wait, publishers });
    const holder = peer(t, ['hold', tp.name]);
    await within(holder.ready, 'the subscriber attaching');
    const live = tp.subscriber();
    const pub = tp.publisher();
    let n = 0;
    while (pub.tryPublish(message(n))) n++;
    t.same(readyNumbers(live), Array.from({ length: n }, (_, i) => i));
    await t.rejects(pub.publish(message(n), { timeout: 100 }), { code: 'ETIMEDOUT' }, 'the live holder keeps the room');
    const waiting = pub.publish(message(n));
    await killed(holder.child);
    await within(waiting, "the publish going on after the holder's death");
    t.same(readyNumbers(live), [n]);
    t.equal(tp.stats().subscribers.length, 1, 'the dead subscriber’s slot was freed');
    for (let k = n + 1; k < n + 200; k++) {
      await pub.publish(message(k));
      t.same(readyNumbers(live), [k], `message ${k}`, { diagnostic: false });
    }
  });
}

for (const publishers of ['multi', 'single']) {
  t.test(`a publisher that only polls (tryPublish) is also released by a dead subscriber (publishers '${publishers}')`, async (t) => {
    const tp = topic(t, { publishers });
    const holder = peer(t, ['hold', tp.name]);
    await within(holder.ready, 'the subscriber attaching');
    const pub = tp.publisher();
    let n = 0;
    while (pub.tryPublish(message(n))) n++;
    await killed(holder.child);
    await within(
      (async () => {
        while (!pub.tryPublish(message(n))) await new Promise((resolve) => setTimeout(resolve, 5));
      })(),
      'tryPublish succeeding after the holder died',
    );
    t.pass('room again');
  });
}

for (const publishers of ['multi', 'single']) {
  t.test(`a publisher SIGKILLed mid-reserve: no torn message, the others get through, nobody is held (publishers '${publishers}')`, async (t) => {
    const tp = topic(t, { policy: 'block', publishers });
    const sub = tp.subscriber();
    const stuck = peer(t, ['reserve', tp.name]);
    await within(stuck.ready, 'the reservation');
    // A single-publisher topic takes the next publisher once the reserver is dead.
    let pub = publishers === 'multi' ? tp.publisher() : null;
    for (let n = 0; n < 5; n++) pub?.publishSync(message(n));
    await t.rejects(sub.receive({ timeout: 100 }), { code: 'ETIMEDOUT' }, 'the live reservation holds subscribers back');
    const receiving = sub.receive();
    await killed(stuck.child);
    pub ??= tp.publisher();
    if (publishers === 'single') for (let n = 0; n < 5; n++) pub.publishSync(message(n));
    const first = check(await within(receiving, 'the receive going on after the reserver died'));
    t.same(first, { n: 0 }, "the dead publisher's record was skipped, not handed out");
    t.same(readyNumbers(sub), [1, 2, 3, 4]);
    // Round the ring several times past the abandoned record: its room is reclaimed.
    for (let n = 5; n < 500; n++) {
      pub.publishSync(message(n), { timeout: 10_000 });
      const got = readyNumbers(sub);
      if (got.length !== 1 || got[0] !== n) t.fail(`message ${n}: got ${got}`);
    }
    t.equal(sub.lost, 0);
  });
}

for (const publishers of ['multi', 'single']) {
  t.test(`subscribers wait through a publisher restart (publishers '${publishers}')`, async (t) => {
    const tp = topic(t, { publishers });
    const sub = tp.subscriber();
    const first = peer(t, ['publish', tp.name, '0', '3']);
    t.same(await first.lines, ['done']);
    const waiting = sub.receive();
    const more = [];
    for (let i = 0; i < 3; i++) more.push(check(await within(i === 0 ? waiting : sub.receive(), 'messages of the first publisher')).n);
    const fourth = sub.receive();
    const second = peer(t, ['publish', tp.name, '3', '2']);
    t.same(await second.lines, ['done']);
    more.push(check(await within(fourth, 'a message of the second publisher')).n, check(await sub.receive()).n);
    t.same(more, [0, 1, 2, 3, 4]);
  });
}

t.test("a reservation at the tail of a full ring holds publishers until it is committed, or its publisher dies ('overwrite')", async (t) => {
  const tp = topic(t, { policy: 'overwrite' });
  const sub = tp.subscriber();
  const pub = tp.publisher();
  // In this process: the reservation's commit wakes the waiting publisher.
  const other = tp.publisher();
  const r = other.reserveSync(64);
  let n = 0;
  while (pub.tryPublish(message(n))) n++;
  await t.rejects(pub.publish(message(n), { timeout: 100 }), { code: 'ETIMEDOUT' }, 'a message still being written is never overwritten');
  const waiting = pub.publish(message(n));
  r.bytes.set(message(1000, 64));
  r.commit();
  await within(waiting, 'the publish going on after the commit');
  // In another process: its death wakes the waiting publisher.
  for (let m = sub.tryReceive(); m !== null; m = sub.tryReceive());
  const stuck = peer(t, ['reserve', tp.name]);
  await within(stuck.ready, 'the reservation');
  while (pub.tryPublish(message(++n)));
  const waiting2 = pub.publish(message(n + 1));
  await killed(stuck.child);
  await within(waiting2, "the publish going on after the reserver's death");
  t.pass('both waits ended');
});

t.test('a reservation whose publisher died, its slot taken by a new publisher: waiting receives get past it', async (t) => {
  for (const [wait, publishers] of [['block', 'multi'], ['adaptive', 'multi'], ['adaptive', 'single']]) {
    const tp = topic(t, { wait, publishers });
    const sub = tp.subscriber();
    const stuck = peer(t, ['reserve', tp.name]);
    await within(stuck.ready, 'the reservation');
    // The subscriber looks while the owner lives (so it has not skipped the record), then
    // the owner dies and a new publisher takes its slot, a new generation in it.
    t.equal(sub.tryReceive(), null, `${wait}: held back by the live reservation`);
    await killed(stuck.child);
    const pub = tp.publisher();
    pub.publishSync(message(0));
    // Hang guards only: the record is skipped after one short sleep, never a watch on the
    // new publisher's lock.
    t.same(check(sub.receiveSync({ timeout: 20_000 })), { n: 0 }, `${wait}: the message behind it arrives (sync)`);
    pub.publishSync(message(1));
    t.same(check(await sub.receive({ timeout: 20_000 })), { n: 1 }, `${wait}: and the next (async)`);
    pub.close();
  }
});

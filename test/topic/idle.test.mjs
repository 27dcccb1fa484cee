// Topic waiters cost nothing while nothing happens (docs/design.md, "Waiting without a
// clock"), as channel sides do: a subscriber waiting for a message and a publisher
// waiting for room each begin one sleep, and the waiter thread does not pass, over a
// window three times the period the old clocks had (the waiter thread's look every
// second); a periodic wake-up shows there however fast or slow the machine is. Nothing
// waits for the window to act: the peers' acts end the waits, behind a hang guard.
import t from 'tap';
import { setTimeout as delay } from 'node:timers/promises';
import { Topic } from 'podshm';
import { rawBinding, uniqueName, within } from '../helpers.mjs';
import { internal } from '../internal.mjs';
import { message } from '../fixtures/topic-messages.mjs';
import { peer } from './peer.mjs';

const { sleepCount } = internal('channel/wait');
const WINDOW_MS = 3_000;
const HANG_GUARD_MS = 60_000;

function topic(t) {
  const tp = Topic.create(uniqueName('topicidle'), { capacity: 4096, subscribers: 2, wait: 'block' });
  t.teardown(() => (tp.close(), tp.unlink()));
  return tp;
}

// One sleep begun, and the pass of the waiter thread that took the wait in and at most
// one more (it may come before or after the first count): a look every second makes three.
function quiet(t, sleeps, loops) {
  t.equal(sleepCount.value - sleeps, 1, `one sleep over ${WINDOW_MS} ms: no slices`);
  const passes = rawBinding.waiter.loops() - loops;
  t.ok(passes <= 2, `waiter thread passes: ${passes}`);
}

t.test('a subscriber waiting for a message sleeps once; a publish from another process ends it', async (t) => {
  const tp = topic(t);
  const sub = tp.subscriber();
  const sleeps = sleepCount.value;
  const loops = rawBinding.waiter.loops();
  const pending = sub.receive();
  await delay(WINDOW_MS);
  quiet(t, sleeps, loops);
  const publisher = peer(t, ['publish', tp.name, '0', '1']);
  t.equal((await within(publisher.lines, 'the publisher', HANG_GUARD_MS)).at(-1), 'done');
  t.same(await within(pending, 'the message', HANG_GUARD_MS), message(0), 'the message ends the wait');
});

t.test('a publisher waiting for room sleeps once; the death of the subscriber that holds it ends the wait', async (t) => {
  const tp = topic(t);
  const holder = peer(t, ['hold', tp.name]);
  await within(holder.ready, 'the subscriber attaching', HANG_GUARD_MS);
  const pub = tp.publisher();
  let n = 0;
  while (pub.tryPublish(message(n))) n++;
  const sleeps = sleepCount.value;
  const loops = rawBinding.waiter.loops();
  const pending = pub.publish(message(n));
  await delay(WINDOW_MS);
  quiet(t, sleeps, loops);
  holder.child.kill('SIGKILL');
  await within(pending, "the subscriber's death", HANG_GUARD_MS);
  t.pass('the publish went on');
});

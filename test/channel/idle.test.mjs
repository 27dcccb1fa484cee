// A waiting channel side costs nothing while nothing happens (docs/design.md, "Waiting
// without a clock"): it begins one sleep, however long nothing comes, and the death of
// its peer, learned from the peer's lock, still ends the wait. The counts are the
// waiting code's own (sleeps begun, passes of the waiter thread) over a window ten
// times the period they used to have (100 ms slices; the waiter thread's look every
// second): a periodic wake-up shows there however fast or slow the machine is. The
// window is no deadline: nothing waits for it to pass before acting.
import t from 'tap';
import { setTimeout as delay } from 'node:timers/promises';
import { Channel, PeerGoneError, SharedMemory } from 'podshm';
import { fixture, rawBinding, startUntil, uniqueName, within } from '../helpers.mjs';
import { internal } from '../internal.mjs';

const { sleepCount } = internal('channel/wait');
const WINDOW_MS = 3_000;
const HANG_GUARD_MS = 60_000;

function channel(t, opts) {
  const ch = Channel.create(uniqueName('chidle'), { capacity: 4096, ...opts });
  t.teardown(() => (ch.close(), ch.unlink()));
  return ch;
}

const peer = (t, mode, name) => startUntil(t, process.execPath, [fixture('idle-peer.mjs'), mode, name], 'ready');

t.test('a receiver waiting on the event loop sleeps once, and wakes when its producer dies', async (t) => {
  const ch = channel(t, { wait: 'block' });
  const producer = await peer(t, 'producer', ch.name);
  const rx = ch.receiver({ producersGone: 'end' });
  const before = sleepCount.value;
  const pending = rx.receive();
  await delay(WINDOW_MS);
  t.equal(sleepCount.value - before, 1, 'one sleep over the whole window: no slices');
  producer.kill('SIGKILL');
  await t.rejects(within(pending, "the producer's death", HANG_GUARD_MS), PeerGoneError, 'the death ends the wait');
});

t.test('the same for a consumer on the futex (no bell), through the waiter thread', async (t) => {
  const ch = channel(t, { wait: 'block' });
  // BELL_OFF (a producer could not open the bell) makes consumers sleep on the futex.
  const raw = SharedMemory.open(ch.name);
  t.teardown(() => raw.close());
  Atomics.store(new Int32Array(raw.buffer), 648 >> 2, 1);
  const producer = await peer(t, 'producer', ch.name);
  const rx = ch.receiver({ producersGone: 'end' });
  const sleeps = sleepCount.value;
  const pending = rx.receive();
  const loops = rawBinding.waiter.loops();
  await delay(WINDOW_MS);
  t.equal(sleepCount.value - sleeps, 1, 'one sleep');
  // The pass that took the new wait in, and at most one more (it may come before or
  // after the count above): a look every second would make three or more.
  t.ok(rawBinding.waiter.loops() - loops <= 2, `waiter thread passes: ${rawBinding.waiter.loops() - loops}`);
  producer.kill('SIGKILL');
  await t.rejects(within(pending, "the producer's death", HANG_GUARD_MS), PeerGoneError);
});

t.test('a sender waiting for room sleeps once, and wakes when the consumer dies', async (t) => {
  const ch = channel(t, { wait: 'block' });
  const consumer = await peer(t, 'consumer', ch.name);
  const tx = ch.sender();
  while (tx.trySend(new Uint8Array(64)));
  const sleeps = sleepCount.value;
  const loops = rawBinding.waiter.loops();
  const pending = tx.send(new Uint8Array(64));
  await delay(WINDOW_MS);
  t.equal(sleepCount.value - sleeps, 1, 'one sleep');
  t.ok(rawBinding.waiter.loops() - loops <= 2, `waiter thread passes: ${rawBinding.waiter.loops() - loops}`);
  consumer.kill('SIGKILL');
  await t.rejects(within(pending, "the consumer's death", HANG_GUARD_MS), PeerGoneError);
});

t.test('a blocking receive on the main thread sleeps once, and wakes when its producer dies', async (t) => {
  const ch = channel(t, { wait: 'block' });
  // The receive blocks its thread, so it runs in a child, beside a producer in another.
  const producer = await peer(t, 'producer', ch.name);
  const consumer = await peer(t, 'blocking-consumer', ch.name);
  // The child reports its sleeps when the wait ends: one, although it waited the window.
  const out = new Promise((resolve) => {
    let text = '';
    consumer.stdout.on('data', (d) => (text += d));
    consumer.once('exit', () => resolve(text));
  });
  await delay(WINDOW_MS);
  producer.kill('SIGKILL');
  const text = await within(out, "the producer's death", HANG_GUARD_MS);
  t.match(text, /PeerGoneError sleeps=1\b/, text);
});

// Each side learns when the other has gone, including by SIGKILL: a receiver waiting
// on dead producers gets PeerGoneError (or the end of for await), a record reserved by
// a producer that died is skipped, and a producer learns that the consumer is gone.
import t from 'tap';
import { Channel, PeerGoneError, SharedMemory } from 'podshm';
import { fixture, node, startUntil, uniqueName, until, within } from '../helpers.mjs';
import { checker } from '../fixtures/channel-messages.mjs';
import { internal } from '../internal.mjs';

// Starts a fixture and resolves once it has printed `line`; the child is killed at teardown.
const startFixture = (t, script, args, line) => startUntil(t, process.execPath, [fixture(script), ...args], line);

const killed = (child) => new Promise((resolve) => {
  child.once('exit', resolve);
  child.kill('SIGKILL');
});

function channel(t, opts) {
  const name = uniqueName('chlive');
  const ch = Channel.create(name, { capacity: 1 << 20, ...opts });
  t.teardown(() => (ch.close(), ch.unlink()));
  return ch;
}

t.test('a producer killed mid-reserve is skipped; the others get through, then PeerGone', async (t) => {
  const ch = channel(t, { producers: 'multi', wait: 'block' });
  const rx = ch.receiver({ producersGone: 'end' });
  const stuck = await startFixture(t, 'channel-producer.mjs', [ch.name, '0', '0', 'reserve-and-wait'], 'reserved');
  // Producer 1 sends behind the reserved record, which holds the consumer back (five
  // messages, one of them half the ring: they fit while nothing is consumed).
  const other = await node('channel-producer.mjs', [ch.name, '1', '5']);
  t.equal(other.code, 0, other.stderr);
  await t.rejects(rx.receive({ timeout: 300 }), { code: 'ETIMEDOUT' }, 'the live reserver holds the consumer back');
  await killed(stuck);
  const c = checker(2, ch.maxMessageSize);
  const errors = [];
  for await (const msg of rx) {
    const e = c.check(msg);
    if (e) errors.push(e);
  }
  t.same(errors, []);
  t.same(c.next, [0, 5], "the dead producer's record was skipped and every other message arrived");
  t.throws(() => rx.receiveSync({ timeout: 2_000 }), PeerGoneError);
});

t.test('single producer: a new producer after a dead one; its leftover reservation is skipped', async (t) => {
  const ch = channel(t, {});
  const rx = ch.receiver({ producersGone: 'end' });
  const stuck = await startFixture(t, 'channel-producer.mjs', [ch.name, '0', '0', 'reserve-and-wait'], 'reserved');
  t.throws(() => ch.sender(), { code: 'EBUSY' }, 'one live producer at a time');
  await killed(stuck);
  const next = await node('channel-producer.mjs', [ch.name, '0', '5']);
  t.equal(next.code, 0, next.stderr);
  const c = checker(1, ch.maxMessageSize);
  const errors = [];
  for (let i = 0; i < 5; i++) {
    const e = c.check(rx.receiveSync({ timeout: 5_000 }));
    if (e) errors.push(e);
  }
  t.same(errors, []);
  t.throws(() => rx.receiveSync({ timeout: 5_000 }), { name: 'PeerGoneError', peer: 'producers' });
});

t.test('a producer that died between publishing a record and storing HEAD: the next one starts after it', async (t) => {
  // A record is published by its word 0, then HEAD is stored (lib/channel_sender.ts,
  // #publish). Dying between the two leaves HEAD one record behind, two at the wrap (the
  // padding and the message): rewinding HEAD by hand makes exactly that state.
  for (const producers of ['single', 'multi']) {
    for (const wrap of [false, true]) {
      const ch = Channel.create(uniqueName('chhead'), { capacity: 4096, producers });
      const raw = SharedMemory.open(ch.name);
      t.teardown(() => (raw.close(), ch.close(), ch.unlink()));
      const head = new Int32Array(raw.buffer, 128, 1);
      const rx = ch.receiver({ producersGone: 'end' });
      const tx = ch.sender();
      // 512-byte records: after 7 the next 600-byte message needs a padding record first.
      const before = wrap ? 7 : 3;
      for (let n = 0; n < before; n++) tx.sendSync(new Uint8Array(504).fill(n));
      for (let n = 0; n < before; n++) rx.receiveSync();
      rx.release();
      const published = head[0];
      tx.sendSync(new Uint8Array(600).fill(200));
      head[0] = published;
      tx.close();
      const next = ch.sender();
      next.sendSync(new Uint8Array(504).fill(201));
      const got = [];
      for (let m; (m = rx.tryReceive()) !== null; ) got.push(m.every((b) => b === m[0]) ? `${m[0]}x${m.length}` : 'torn');
      t.same(got, ['200x600', '201x504'], `${producers}${wrap ? ', at the wrap' : ''}: nothing overwritten, nothing lost`);
    }
  }
});

t.test('a single producer that died between publishing a sendMany run and storing HEAD: the next one starts after the run', async (t) => {
  // sendMany publishes a whole run with one store, then HEAD: HEAD can lag by the run.
  const ch = Channel.create(uniqueName('chrun'), { capacity: 4096 });
  const raw = SharedMemory.open(ch.name);
  t.teardown(() => (raw.close(), ch.close(), ch.unlink()));
  const head = new Int32Array(raw.buffer, 128, 1);
  const rx = ch.receiver({ producersGone: 'end' });
  const tx = ch.sender();
  const published = head[0];
  tx.sendManySync([1, 2, 3, 4, 5].map((v) => new Uint8Array(8).fill(v)));
  head[0] = published;
  tx.close();
  const next = ch.sender();
  next.sendSync(new Uint8Array(8).fill(6));
  const got = [];
  for (let m; (m = rx.tryReceive()) !== null; ) got.push(m[0]);
  t.same(got, [1, 2, 3, 4, 5, 6], 'the run, then the new producer, nothing overwritten');
});

t.test('a consumer that only polls (tryReceive, drain) gets past a dead producer\'s reservation', async (t) => {
  for (const poll of ['tryReceive', 'drain']) {
    const ch = channel(t, { producers: 'multi' });
    const rx = ch.receiver({ producersGone: 'end' });
    const dead = ch.sender();
    const live = ch.sender();
    dead.reserveSync(16);
    dead.close(); // its reservation is abandoned, as at a death
    live.sendSync(Uint8Array.of(42));
    const got = [];
    const until = Date.now() + 5000;
    while (got.length === 0 && Date.now() < until) {
      if (poll === 'drain') rx.drain((bytes, offset) => got.push(bytes[offset]));
      else got.push(...(rx.tryReceive() ?? []));
    }
    t.same(got, [42], `${poll}: the message behind the abandoned record arrives`);
  }
});

t.test('a receive on the event loop gets past a dead producer\'s reservation without a sleep', async (t) => {
  const { sleepCount } = internal('channel/wait');
  for (const form of ['receive', 'for await']) {
    const ch = channel(t, { producers: 'multi', wait: 'block' });
    const rx = ch.receiver();
    const dead = ch.sender();
    const live = ch.sender();
    dead.reserveSync(16);
    dead.close(); // its reservation is abandoned, as at a death
    live.sendSync(Uint8Array.of(42));
    const before = sleepCount.value;
    const got = form === 'receive' ? await rx.receive() : (await rx[Symbol.asyncIterator]().next()).value;
    t.same([...got], [42], `${form}: the message behind the abandoned record`);
    t.equal(sleepCount.value - before, 0, `${form}: looked at the record's owner at once, instead of after a sleep`);
  }
});

t.test('a receiver blocked on an empty ring learns that its producer was SIGKILLed', async (t) => {
  const ch = channel(t, {});
  const rx = ch.receiver({ producersGone: 'end' });
  const p = await startFixture(t, 'channel-producer.mjs', [ch.name, '0', '0', 'reserve-and-wait'], 'reserved');
  const raw = SharedMemory.open(ch.name);
  t.teardown(() => raw.close());
  const consumerSleeping = new Int32Array(raw.buffer, 384, 1); // lib/channel_layout.ts
  // Waiting asynchronously; the producer is killed once the receiver is asleep.
  const pending = rx.receive({ timeout: 60_000 });
  await until(() => Atomics.load(consumerSleeping, 0) !== 0, 'the receiver going to sleep');
  p.kill('SIGKILL');
  await t.rejects(within(pending, 'PeerGoneError after the SIGKILL'), PeerGoneError);
  const s = ch.stats();
  t.equal(s.producersAlive, 0);
  t.equal(s.consumerAlive, true);
});

t.test('a receive with timeout 0 on a channel whose producers have gone says so, whatever the strategy', async (t) => {
  for (const wait of ['block', 'adaptive', 'spin']) {
    const ch = channel(t, { wait });
    const rx = ch.receiver({ producersGone: 'end' });
    ch.sender().close();
    t.throws(() => rx.receiveSync({ timeout: 0 }), PeerGoneError, `${wait}: PeerGoneError, not ETIMEDOUT`);
  }
});

t.test('a producer learns that the consumer was SIGKILLed (full ring) or closed', async (t) => {
  const ch = channel(t, { capacity: 4096 });
  const tx = ch.sender();
  const consumer = await startFixture(t, 'channel-consumer.mjs', [ch.name], 'ready');
  const msg = new Uint8Array(100);
  while (tx.trySend(msg));
  t.equal(ch.stats().consumerAlive, true);
  await killed(consumer);
  t.throws(() => tx.sendSync(msg, { timeout: 10_000 }), { name: 'PeerGoneError', peer: 'consumer' });
  await t.rejects(tx.send(msg, { timeout: 10_000 }), PeerGoneError);
  t.equal(ch.stats().consumerAlive, false);

  // A consumer that closes cleanly is seen at once, even with room in the ring.
  const ch2 = channel(t, {});
  const tx2 = ch2.sender();
  const polite = await startFixture(t, 'channel-consumer.mjs', [ch2.name, 'close-after-one'], 'ready');
  tx2.sendSync(msg);
  await new Promise((resolve) => polite.once('exit', resolve));
  t.throws(() => tx2.trySend(msg), PeerGoneError);
  // A new consumer may attach later, and producers carry on.
  const rx = ch2.receiver({ producersGone: 'end' });
  t.equal(tx2.trySend(msg), true);
  t.equal(rx.receiveSync({ timeout: 1000 }).length, 100);
});

t.test('a reservation whose owner died, its slot taken by a new producer: a waiting receive gets past it', async (t) => {
  for (const wait of ['block', 'adaptive']) {
    const ch = channel(t, { producers: 'multi', wait });
    const rx = ch.receiver();
    const stuck = await startFixture(t, 'channel-producer.mjs', [ch.name, '0', '0', 'reserve-and-wait'], 'reserved');
    // The consumer looks while the owner lives (so it has not skipped the record), then
    // the owner dies and a new producer takes its slot, a new generation in it.
    t.equal(rx.tryReceive(), null, `${wait}: held back by the live reservation`);
    await killed(stuck);
    const tx = ch.sender();
    tx.sendSync(Uint8Array.of(1, 2, 3));
    // A hang guard only: the record is skipped after one short sleep, never a watch on the
    // new producer's lock.
    t.same([...rx.receiveSync({ timeout: 20_000 })], [1, 2, 3], `${wait}: the message behind it arrives`);
  }
});

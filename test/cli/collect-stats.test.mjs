// collectStats() and channelRates(), the library side of podshm top and metrics: the
// figures of a channel used by other processes, read without attaching; rates between
// two snapshots; and every kind of object listed.
import * as fs from 'node:fs';
import t from 'tap';
import { Channel, SharedMemory, collectStats, channelRates } from 'podshm';
import { fixture, startUntil } from '../helpers.mjs';
import { privateDir } from './figures.mjs';

t.test('a channel used by two other processes, read from a third that never attaches', async (t) => {
  const dir = privateDir(t, 'stats');
  const name = '/exchange';
  const consumer = await startUntil(t, process.execPath, [fixture('observe-peer.mjs'), 'consumer', dir, name, '500'], 'ready\n');
  const received = new Promise((resolve) => consumer.stdout.on('data', (d) => String(d).includes('received') && resolve()));
  await startUntil(t, process.execPath, [fixture('observe-peer.mjs'), 'producer', dir, name, '500', '64'], 'sent\n');
  await received;
  const before = Date.now();
  const s = collectStats({ dir, sysv: false, mqueue: false });
  t.same(s.errors, { posix: null }, 'listed without error; the sources not asked for are absent');
  t.equal(s.objects.length, 1);
  const [o] = s.objects;
  t.match(o, { kind: 'channel', name, size: 4096 + 65536, problem: null });
  t.match(o.channel, {
    capacity: 65536,
    producersLive: 1,
    producersGone: 0,
    consumer: 'live',
    messagesSent: 500,
    bytesSent: 500 * 64,
    messagesReceived: 500,
    bytesReceived: 500 * 64,
    usedBytes: 0,
    lagMessages: 0,
    lastMessageExact: true,
  });
  t.ok(o.channel.lastMessageAt <= before, 'the last message came before this reading');
  t.ok(o.channel.consumerWaits >= 0 && o.channel.producerWaits >= 0);

  // The reader holds nothing: a second consumer still finds the slot taken by the live one, not by us.
  const ch = Channel.open(name, { dir });
  t.teardown(() => ch.close());
  t.throws(() => ch.receiver(), { code: 'EBUSY' });
});

t.test('waits and wake-ups: counted by the participants, read from outside', async (t) => {
  const dir = privateDir(t, 'stats');
  const name = '/sleeper';
  const consumer = await startUntil(t, process.execPath, [fixture('observe-peer.mjs'), 'sleeper', dir, name], 'ready\n');
  const received = new Promise((resolve) => consumer.stdout.on('data', (d) => String(d).includes('received') && resolve()));
  const figures = () => collectStats({ dir, sysv: false, mqueue: false }).objects[0].channel;
  // The consumer's CONSUMER_SLEEPING word (docs/channel.md, Layout): once it is raised the
  // consumer is committed to its sleep, and the producer's message must wake it.
  const sleeping = () => {
    const b = Buffer.alloc(4);
    const fd = fs.openSync(`${dir}/sleeper`, 'r');
    fs.readSync(fd, b, 0, 4, 384);
    fs.closeSync(fd);
    return b.readInt32LE(0) !== 0;
  };
  const asleep = async (what) => {
    for (const end = Date.now() + 60_000; !(figures().consumerWaits >= 1 && sleeping()); ) {
      if (Date.now() > end) throw new Error(`the consumer never went to sleep ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  await asleep('on the empty channel');
  t.equal(figures().consumerWaits, 1, 'the consumer counted the wait it began');
  // A producer's arrival wakes the consumer (so it watches the newcomer), uncounted; the
  // message is sent only once the consumer has raised its flag again, so the send must wake it.
  const producer = await startUntil(t, process.execPath, [fixture('observe-peer.mjs'), 'cued-producer', dir, name, '8'], 'attached\n');
  await asleep('again after the producer attached');
  const sent = new Promise((resolve) => producer.stdout.on('data', (d) => String(d).includes('sent') && resolve()));
  producer.kill('SIGUSR2');
  await sent;
  await received;
  const c = figures();
  t.equal(c.producerWakeups, 1, 'the producer counted the wake-up it made for the sleeping consumer');
  t.equal(c.producerWaits, 0, 'the producer never waited: there was room');
  t.equal(c.consumerWaits, 1);
});

t.test('a consumer that never sleeps (wait: spin) stamps the time of the last message while it spins', async (t) => {
  const dir = privateDir(t, 'stats');
  const name = '/spinner';
  const consumer = await startUntil(t, process.execPath, [fixture('observe-peer.mjs'), 'spinner', dir, name], 'ready\n');
  const waited = new Promise((resolve) => consumer.stdout.on('data', (d) => String(d).includes('waited') && resolve()));
  const before = Date.now();
  await startUntil(t, process.execPath, [fixture('observe-peer.mjs'), 'producer', dir, name, '1', '8'], 'sent\n');
  await waited;
  const c = collectStats({ dir, sysv: false, mqueue: false }).objects[0].channel;
  t.equal(c.messagesReceived, 1);
  t.equal(c.lastMessageExact, true, 'stamped after the last message was received');
  t.ok(c.lastMessageAt >= before && c.lastMessageAt <= Date.now(), 'stamped between the send and now');
});

t.test('rates between two snapshots', async (t) => {
  const dir = privateDir(t, 'stats');
  const name = '/trickle';
  await startUntil(t, process.execPath, [fixture('observe-peer.mjs'), 'hold', dir, name], 'ready\n');
  await startUntil(t, process.execPath, [fixture('observe-peer.mjs'), 'trickle', dir, name, '100'], 'ready\n');
  const first = collectStats({ dir, sysv: false, mqueue: false });
  // Wait (hang guard 60 s) until the producer has sent more: the rate is then positive.
  let second;
  for (const end = Date.now() + 60_000; ; ) {
    await new Promise((r) => setTimeout(r, 100));
    second = collectStats({ dir, sysv: false, mqueue: false });
    if (second.objects[0].channel.messagesSent > first.objects[0].channel.messagesSent) break;
    if (Date.now() > end) throw new Error('the producer sent nothing');
  }
  const rates = channelRates(first, second).get(second.objects[0]);
  const sent = second.objects[0].channel.messagesSent - first.objects[0].channel.messagesSent;
  // The same figures, computed in another order: equal to within rounding.
  const close = (a, b) => Math.abs(a - b) <= 1e-9 * Math.abs(b);
  t.ok(close(rates.messagesPerSecond, sent / ((second.at - first.at) / 1000)), `${rates.messagesPerSecond} messages/s`);
  t.ok(close(rates.bytesPerSecond, rates.messagesPerSecond * 100), `${rates.bytesPerSecond} bytes/s`);
  t.equal(rates.lastMessageAt, second.at, 'messages sent between the snapshots: the last one is as of the later');
  t.equal(second.objects[0].channel.consumer, 'live');
  t.ok(second.objects[0].channel.lagMessages > 0, 'the consumer never receives: it lags');
});

t.test('rates: counters that went backwards or are unknown give no rate; another object under the name gives none', (t) => {
  const channel = (sent, waits) => ({ messagesSent: sent, bytesSent: sent, messagesReceived: 0, bytesReceived: 0, producerWaits: waits, consumerWaits: 0, producerWakeups: 0, consumerWakeups: 0, lastMessageAt: null, lastMessageExact: false });
  const object = (id, c) => ({ kind: 'channel', name: '/x', id, size: 0, live: null, queuedBytes: null, channel: c, problem: null });
  const prev = { at: 1000, objects: [object('1:1', channel(100, 5)), object('1:2', channel(7, 0))], errors: {} };
  const next = { at: 3000, objects: [object('1:1', channel(300, null)), object('1:3', channel(9, 0))], errors: {} };
  const rates = channelRates(prev, next);
  t.same(rates.get(next.objects[0]), { messagesPerSecond: 100, bytesPerSecond: 100, waitsPerSecond: null, wakeupsPerSecond: 0, callsPerSecond: null, lastMessageAt: 3000 });
  t.equal(rates.get(next.objects[1]), undefined, 'a new file under the name is not compared with the old one');
  const back = { at: 5000, objects: [object('1:1', channel(10, 5))], errors: {} };
  t.equal(channelRates(next, back).get(back.objects[0]).messagesPerSecond, null, 'a counter that went back (scribbled) has no rate');
  t.end();
});

t.test('other kinds: plain shm objects; bad options are typed errors', (t) => {
  const dir = privateDir(t, 'stats');
  const shm = SharedMemory.create('/plain', 8192, { dir });
  t.teardown(() => shm.close());
  const [o] = collectStats({ dir, sysv: false, mqueue: false }).objects;
  t.match(o, { kind: 'shm', name: '/plain', size: 8192, channel: null, problem: null });
  t.throws(() => collectStats({ dir: 5 }), { code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => collectStats('x'), { code: 'ERR_INVALID_ARG_TYPE' });
  const missing = collectStats({ dir: `${dir}/nope`, sysv: false, mqueue: false });
  t.match(missing.errors.posix, /ENOENT/, 'a directory that is not there: said, not thrown');
  t.end();
});

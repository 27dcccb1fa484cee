// Shared memory is hostile input: a channel whose header or records hold garbage
// yields ChannelCorruptError (or a timeout, or PeerGoneError when the garbage says so),
// never a crash, a hang, or a read outside the ring.
import t from 'tap';
import { Channel, ChannelCorruptError, CorruptionError, SharedMemory } from 'podshm';
import * as fs from 'node:fs';
import { run, uniqueName, until } from '../helpers.mjs';
import { fuzzInChild } from '../corrupt-fuzz.mjs';

t.test('open refuses a bad magic, version, capacity, layout or flags', async (t) => {
  const cases = [
    [0, 0x12345678, 'magic'],
    [4, 1, 'version'],
    [8, 3000, 'capacity'],
    [8, 1 << 20, 'capacity'],
    [12, 0x100, 'flags'],
    [16, 64, 'data offset'],
    [20, 7, 'producer table'],
  ];
  for (const [offset, value, what] of cases) {
    const ch = Channel.create(uniqueName('chbad'), { capacity: 4096 });
    const raw = SharedMemory.open(ch.name);
    new Int32Array(raw.buffer)[offset >> 2] = value;
    const err = t.throws(() => Channel.open(ch.name), ChannelCorruptError, what);
    t.ok(err instanceof CorruptionError);
    t.match(err, { offset, code: 'ERR_PODSHM_CORRUPT' });
    raw.close();
    ch.close();
    ch.unlink();
  }
});

t.test('a head or a record header out of bounds is ChannelCorruptError, not a bad view', async (t) => {
  const ch = Channel.create(uniqueName('chrec'), { capacity: 4096 });
  t.teardown(() => (ch.close(), ch.unlink()));
  const tx = ch.sender();
  const rx = ch.receiver({ producersGone: 'end' });
  const raw = SharedMemory.open(ch.name);
  t.teardown(() => raw.close());
  const i32 = new Int32Array(raw.buffer);
  tx.sendSync(new Uint8Array(16));
  const word0 = i32[4096 >> 2];
  i32[4096 >> 2] = 1 << 20; // unknown flags
  t.throws(() => rx.receiveSync({ timeout: 100 }), { name: 'ChannelCorruptError', offset: 4096 });
  i32[4096 >> 2] = (1 << 20) | (word0 & 7); // extent far beyond the ring
  t.throws(() => rx.receiveSync({ timeout: 100 }), { name: 'ChannelCorruptError', offset: 4096 });
  i32[4096 >> 2] = word0;
  i32[(4096 + 4) >> 2] = 17; // length beyond the extent
  t.throws(() => rx.receiveSync({ timeout: 100 }), ChannelCorruptError);
  i32[(4096 + 4) >> 2] = 16;
  t.equal(rx.receiveSync({ timeout: 100 }).length, 16, 'repaired, the message reads again');
  // The consumer never reads HEAD after attaching; producers do, and a new one checks it.
  const head = i32[128 >> 2];
  i32[128 >> 2] = 4096 * 3; // more than a ring ahead
  tx.close();
  t.throws(() => ch.sender(), ChannelCorruptError, 'a new producer checks the head');
  i32[128 >> 2] = head + 4; // not 8-aligned
  t.throws(() => ch.sender(), ChannelCorruptError);
  i32[128 >> 2] = head;
  const tx2 = ch.sender();
  i32[256 >> 2] = 4096 * 5; // a tail far from the head
  t.throws(() => {
    for (let i = 0; i < 4; i++) tx2.sendSync(new Uint8Array(2040), { timeout: 100 });
  }, { name: 'ChannelCorruptError', offset: 256 }, 'the producer checks the tail it reads');
});

t.test('an opener that comes between a channel\'s name and its header waits for the header', async (t) => {
  // A creator names the segment before it writes the header (the bell is made between).
  const model = Channel.create(uniqueName('chmodel'), { capacity: 4096 });
  const name = uniqueName('chearly');
  const early = SharedMemory.create(name, 8192);
  t.teardown(() => (model.close(), model.unlink(), early.close(), early.unlink()));
  const copy = SharedMemory.open(model.name);
  const header = new Int32Array(copy.buffer.slice(0, 4096));
  copy.close();
  let pid;
  const opener = run(process.execPath, ['-e', `
    const { Channel } = require('podshm');
    const ch = Channel.open(${JSON.stringify(name)});
    console.log(ch.capacity);
    ch.close();`], { onSpawn: (c) => (pid = c.pid) });
  // The header is published once the opener has mapped the segment: it is then waiting
  // for the magic (it waits up to 1 s, lib/magic.ts).
  const inode = ` ${fs.statSync(early.path).ino} `;
  const mapped = () => {
    try {
      return fs.readFileSync(`/proc/${pid}/maps`, 'utf8').includes(inode);
    } catch {
      return false;
    }
  };
  await until(mapped, 'the opener mapping the segment');
  const target = new Int32Array(early.buffer, 0, 1024);
  target.set(header.subarray(1), 1);
  Atomics.store(target, 0, header[0]); // the magic last, as a creator publishes it
  const r = await opener;
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout.trim(), '4096', 'opened once the header was there, not ChannelCorruptError');
});

t.test('stats() of scribbled counters: finite, non-negative figures', async (t) => {
  const ch = Channel.create(uniqueName('chstats'), { capacity: 4096 });
  const raw = SharedMemory.open(ch.name);
  t.teardown(() => (raw.close(), ch.close(), ch.unlink()));
  const f64 = new Float64Array(raw.buffer, 0, 512);
  f64[264 >> 3] = Infinity; // messages received
  f64[272 >> 3] = -7.5; // bytes received
  f64[(1024 + 8) >> 3] = NaN; // slot 0: messages sent
  f64[(1024 + 64 + 8) >> 3] = Infinity; // slot 1: messages sent
  const stats = ch.stats();
  for (const key of ['depth', 'messagesSent', 'bytesSent', 'messagesReceived', 'bytesReceived']) {
    t.ok(Number.isFinite(stats[key]) && stats[key] >= 0, `${key}: ${stats[key]}`);
  }
});

t.test('fuzz: random header and record words never crash or hang (bounded run in a child)', async (t) => {
  await fuzzInChild(t, 'channel', 200, 'ChannelCorruptError');
});

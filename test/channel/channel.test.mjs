// The Channel API in one process (and zero copy across two): arguments, backpressure,
// timeouts, AbortSignal, reserve/commit, copies, stats, close.
import { spawn } from 'node:child_process';
import t from 'tap';
import { AbortError, Channel, ChannelCorruptError, SharedMemory, SystemError } from 'podshm';
import { eachLine, fixture, uniqueName, until, within } from '../helpers.mjs';

// The consumer's sleeping flag (lib/channel_layout.ts), as an Int32 index.
const CONSUMER_SLEEPING = 384 >> 2;

function channel(t, opts) {
  const ch = Channel.create(uniqueName('chapi'), { capacity: 4096, ...opts });
  t.teardown(() => (ch.close(), ch.unlink()));
  return ch;
}

t.test('create and open check their arguments before any system call', async (t) => {
  const name = uniqueName('chargs');
  for (const capacity of [0, 1000, 2048, 3 << 12, 2 ** 31, 4096.5]) {
    t.throws(() => Channel.create(name, { capacity }), { code: 'ERR_OUT_OF_RANGE' }, `capacity ${capacity}`);
  }
  t.throws(() => Channel.create(name, { capacity: '4096' }), { code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => Channel.create(name, { producers: 'many' }), { code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => Channel.create(name, { wait: 'sleep' }), { code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => Channel.create('a/b'), { code: 'EINVAL' });
  t.throws(() => Channel.open(uniqueName('missing')), { code: 'ENOENT' });
  const ch = channel(t, {});
  t.throws(() => Channel.create(ch.name), { code: 'EEXIST' });
  t.equal(ch.capacity, 4096);
  t.equal(ch.maxMessageSize, 2040);
  t.equal(ch.producers, 'single');
  t.equal(ch.wait, 'adaptive');
  const other = Channel.open(ch.name);
  t.teardown(() => other.close());
  t.match(other, { capacity: 4096, producers: 'single', wait: 'adaptive', maxMessageSize: 2040 });
});

t.test('a segment that is not a channel is refused with ChannelCorruptError', async (t) => {
  const name = uniqueName('chnot');
  const shm = SharedMemory.create(name, 1 << 16);
  t.teardown(() => (shm.close(), shm.unlink()));
  t.throws(() => Channel.open(name), ChannelCorruptError);
});

t.test('messages: types and sizes', async (t) => {
  const ch = channel(t, {});
  const tx = ch.sender();
  const rx = ch.receiver();
  t.throws(() => tx.sendSync('text'), { code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => tx.sendSync(new Uint8Array(2041)), { code: 'EMSGSIZE' });
  t.throws(() => tx.reserveSync(-1), { code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => tx.sendSync(new Uint8Array(1), { timeout: -1 }), { code: 'ERR_OUT_OF_RANGE' });
  tx.sendSync(Buffer.from('hello'));
  tx.sendSync(new Uint32Array([0x01020304]));
  tx.sendSync(new Uint8Array(0));
  tx.sendSync(new Uint8Array(2040).fill(9));
  t.equal(Buffer.from(rx.receiveSync()).toString(), 'hello');
  t.same([...rx.receiveSync()], [4, 3, 2, 1], 'any ArrayBufferView, as its bytes');
  t.equal(rx.receiveSync().length, 0, 'empty messages are messages');
  const big = rx.receiveSync();
  t.equal(big.length, 2040);
  t.ok(big.every((b) => b === 9));
});

t.test('backpressure: a full ring refuses, then takes again once the consumer reads; nothing is lost', async (t) => {
  const ch = channel(t, {});
  const tx = ch.sender();
  const rx = ch.receiver();
  let sent = 0;
  const msg = new Uint8Array(120);
  while (tx.trySend(msg.fill(sent & 255))) sent++;
  // The ring keeps 8 bytes free for the word 0 after the last record (docs/channel.md, Layout).
  t.equal(sent, Math.floor((4096 - 8) / 128), 'as many 120-byte messages as 128-byte records fit');
  t.equal(tx.tryReserve(120), null);
  t.throws(() => tx.sendSync(msg, { timeout: 30 }), { code: 'ETIMEDOUT', name: 'SystemError' });
  t.equal(ch.stats().usedBytes, sent * 128);
  t.equal(rx.receiveSync()[0], 0);
  rx.release();
  t.equal(tx.trySend(msg.fill(sent & 255)), true, 'room again after a release');
  sent++;
  let got = 1;
  for (let m; (m = rx.tryReceive()) !== null; got++) t.equal(m[0], got & 255);
  t.equal(got, sent);
});


t.test('near full, a producer writes only into released room: unread messages stay whole', async (t) => {
  // A single producer stores into the free room ahead of its head before it needs it
  // (lib/channel_sender.ts, #claimAhead); this runs the ring at the edge of full with
  // sizes that move every boundary, and checks every byte of every message.
  const ch = channel(t, {});
  const tx = ch.sender();
  const rx = ch.receiver();
  let seed = 7;
  const random = (n) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
  const fill = (seq, size) => Uint8Array.from({ length: size }, (_, i) => (seq * 31 + i) & 255);
  let sent = 0;
  let bytes = 0;
  let received = 0;
  let bad = 0;
  for (let round = 0; round < 400; round++) {
    for (let m = fill(sent, 1 + random(300)); tx.trySend(m); m = fill(sent, 1 + random(300))) {
      sent++;
      bytes += m.length;
    }
    for (let k = 1 + random(12); k > 0 && received < sent; k--) {
      const m = rx.receiveSync();
      for (let i = 0; i < m.length; i++) if (m[i] !== ((received * 31 + i) & 255)) bad++;
      received++;
    }
  }
  t.ok(bytes > 50 * 4096, `${sent} messages, ${bytes} bytes, went through a 4 KiB ring`);
  t.equal(bad, 0, 'no byte of an unread message was overwritten');
});
t.test('positions wrap through 2^31 and 2^32 without losing or reordering a message', async (t) => {
  // Positions are 32-bit counters kept as int32 in JavaScript (lib/channel_layout.ts):
  // start both sides just below each boundary and stream across it.
  for (const producers of ['single', 'multi']) {
    for (const start of [2 ** 31 - 1024, 2 ** 32 - 1024]) {
      const ch = channel(t, { producers });
      const raw = SharedMemory.open(ch.name);
      t.teardown(() => raw.close());
      const i32 = new Int32Array(raw.buffer);
      i32[128 >> 2] = start | 0; // HEAD
      i32[256 >> 2] = start | 0; // TAIL
      const tx = ch.sender();
      const rx = ch.receiver();
      const fill = (seq) => Uint8Array.from({ length: 1 + ((seq * 37) % 200) }, (_, i) => (seq + i) & 255);
      let sent = 0;
      let received = 0;
      let bad = 0;
      let used = 0;
      while (sent < 300) {
        const batch = [fill(sent), fill(sent + 1), fill(sent + 2)];
        tx.sendManySync(batch);
        tx.sendSync(fill(sent + 3));
        const slot = tx.reserveSync(fill(sent + 4).length);
        slot.bytes.set(fill(sent + 4));
        slot.commit();
        sent += 5;
        used = Math.max(used, ch.stats().usedBytes);
        for (let m; (m = rx.tryReceive()) !== null; received++) {
          const want = fill(received);
          if (m.length !== want.length || m.some((b, i) => b !== want[i])) bad++;
        }
      }
      t.equal(received, sent, `${producers} from ${start}: every message arrived`);
      t.equal(bad, 0, `${producers} from ${start}: in order, every byte as sent`);
      t.ok(used > 0 && used <= 4096, `usedBytes stayed within the ring (${used})`);
      const head = i32[128 >> 2] >>> 0;
      t.ok(((head - start) >>> 0) > 1024, `the head went past the boundary (${start} -> ${head})`);
    }
  }
});

t.test('a cancelled reservation gives its room back while the consumer waits', async (t) => {
  const ch = channel(t);
  const rx = ch.receiver();
  const tx = ch.sender();
  const raw = SharedMemory.open(ch.name);
  t.teardown(() => raw.close());
  const flags = new Int32Array(raw.buffer, 0, 1024);
  const got = rx.receive();
  await until(() => Atomics.load(flags, CONSUMER_SLEEPING) !== 0, 'the consumer going to sleep');
  const slot = tx.reserveSync(tx.maxMessageSize);
  slot.cancel(); // published as a record to skip: the consumer wakes, skips it, sleeps again
  await until(() => Atomics.load(flags, CONSUMER_SLEEPING) !== 0, 'the consumer sleeping again after the skip');
  // The ring has room for this only once the cancelled record's room is given back.
  await tx.send(new Uint8Array(tx.maxMessageSize).fill(9), { timeout: 30_000 });
  const m = await within(got, 'the receive of the message sent after the cancel');
  t.equal(m.length, tx.maxMessageSize);
  t.ok(m.every((b) => b === 9), 'the message sent after the cancel, whole');
});

t.test('one receive at a time: another while a receive is pending is EBUSY', async (t) => {
  const ch = channel(t);
  const rx = ch.receiver();
  const tx = ch.sender();
  const first = rx.receive();
  await t.rejects(rx.receive(), { code: 'EBUSY' });
  t.throws(() => rx.receiveSync({ timeout: 0 }), { code: 'EBUSY' });
  t.throws(() => rx.tryReceive(), { code: 'EBUSY' });
  t.throws(() => rx.drain(() => {}), { code: 'EBUSY' });
  tx.sendSync(Uint8Array.of(1));
  tx.sendSync(Uint8Array.of(2));
  t.equal((await first)[0], 1);
  t.equal((await rx.receive())[0], 2, 'each message once, in order');
  const aborted = new AbortController();
  const third = rx.receive({ signal: aborted.signal });
  aborted.abort();
  await t.rejects(third, { code: 'ABORT_ERR' });
  tx.sendSync(Uint8Array.of(3));
  t.equal(rx.receiveSync()[0], 3, 'a settled receive, even rejected, frees the receiver');
});

t.test('an idle producer of a multi-producer channel never writes over unread messages, even 4 GiB later', async (t) => {
  const CAP = 1 << 20;
  const ch = channel(t, { capacity: CAP, producers: 'multi' });
  const raw = SharedMemory.open(ch.name);
  t.teardown(() => raw.close());
  const head = new Int32Array(raw.buffer, 128, 1);
  const rx = ch.receiver();
  const idle = ch.sender(); // reads the tail now, then waits while 2^32 bytes pass
  const busy = ch.sender();
  const quarter = CAP / 4;
  while (head[0] >>> 0 !== (2 ** 32 - CAP / 2) >>> 0) {
    busy.tryReserve(quarter - 8).commit(0);
    rx.receiveSync();
    rx.release();
  }
  const sent = [];
  for (let k = 0; k < 4; k++) {
    const m = new Uint8Array(quarter - 16).fill(0x11 + k);
    if (!busy.trySend(m)) break;
    sent.push(m);
  }
  t.equal(sent.length, 4, 'the ring is full of unread messages');
  t.notOk(idle.trySend(new Uint8Array(1000).fill(0xab)), 'the idle producer finds it full too');
  for (const m of sent) t.same(rx.receiveSync({ timeout: 1000 }), m, 'each message intact');
});

t.test('after unlink and a new channel under the name, the old one makes no participant of the new one', async (t) => {
  const name = uniqueName('chrenamed');
  const old = Channel.create(name, { capacity: 4096, producers: 'multi' });
  const rx = old.receiver();
  const tx = old.sender();
  const slot = tx.reserveSync(16);
  Channel.unlink(name);
  const fresh = Channel.create(name, { capacity: 4096 });
  t.teardown(() => (old.close(), fresh.close(), fresh.unlink()));
  // Liveness locks are taken by the name, which is another file now.
  t.throws(() => old.sender(), { code: 'ENOENT', message: /unlinked/ });
  t.equal(fresh.stats().producersAlive, 0, 'no phantom producer in the new channel');
  const tx2 = fresh.sender();
  t.equal(fresh.stats().producersAlive, 1, 'whose single producer slot was free, and is now taken');
  const rx2 = fresh.receiver();
  tx2.sendSync(Uint8Array.of(5));
  t.same([...rx2.receiveSync({ timeout: 30_000 })], [5], 'and the new channel works');
  tx2.close();
  rx2.close();
  // What was made before the unlink goes on.
  slot.bytes.fill(7);
  slot.commit();
  tx.sendSync(Uint8Array.of(8));
  t.same([rx.receiveSync()[0], rx.receiveSync()[0]], [7, 8], 'the old sender and receiver go on, nothing skipped');
  t.throws(() => old.unlink(), { code: 'ENOENT', message: /another channel/ }, "the old object's unlink() leaves the new one alone");
  t.doesNotThrow(() => Channel.open(name).close(), 'which is still there');
});

t.test('timeouts and AbortSignal', async (t) => {
  const ch = channel(t, { wait: 'block' });
  const tx = ch.sender();
  const rx = ch.receiver();
  t.throws(() => rx.receiveSync({ timeout: 20 }), { code: 'ETIMEDOUT' });
  await t.rejects(rx.receive({ timeout: 20 }), { code: 'ETIMEDOUT' });

  // Only a timer callback aborts: if receive held the event loop, nothing would.
  const ac = new AbortController();
  let ran = false;
  setTimeout(() => ((ran = true), ac.abort(new Error('stop'))), 0);
  const err = await within(rx.receive({ signal: ac.signal }).catch((e) => e), 'the abort from a timer callback');
  t.ok(ran, 'the event loop ran a timer while receive waited');
  t.ok(err instanceof AbortError, 'aborted with AbortError');
  t.equal(err.cause?.message, 'stop');
  await t.rejects(rx.receive({ signal: AbortSignal.abort() }), AbortError, 'an aborted signal rejects at once');

  while (tx.trySend(new Uint8Array(500)));
  while (tx.trySend(new Uint8Array(1)));
  await t.rejects(tx.send(new Uint8Array(500), { signal: AbortSignal.timeout(30) }), AbortError);
  await t.rejects(tx.send(new Uint8Array(500), { timeout: 30 }), { code: 'ETIMEDOUT' });
  // A wait that succeeds: room appears while send waits.
  // Room appears only in a timer callback, which runs only while send leaves the loop free.
  let freed = false;
  const pending = tx.send(Uint8Array.of(7), { timeout: 60_000 });
  setTimeout(() => (rx.receiveSync(), rx.release(), (freed = true)), 0);
  await within(pending, 'send completing once room appeared');
  t.ok(freed, 'send completed after the timer made room');
});

t.test('reserve: room without blocking the event loop; timeout, AbortSignal, bad sizes', async (t) => {
  const ch = channel(t, {});
  const tx = ch.sender();
  const rx = ch.receiver();
  const now = await tx.reserve(100);
  now.bytes.fill(1);
  now.commit();
  t.equal(rx.receiveSync().length, 100, 'room there: it resolves at once');
  rx.release();
  await t.rejects(tx.reserve(5000), { code: 'EMSGSIZE' }, 'rejects, does not throw');
  await t.rejects(tx.reserve(-1), { code: 'ERR_OUT_OF_RANGE' });
  while (tx.trySend(new Uint8Array(500)));
  while (tx.trySend(new Uint8Array(1)));
  await t.rejects(tx.reserve(500, { timeout: 30 }), { code: 'ETIMEDOUT' });
  await t.rejects(tx.reserve(500, { signal: AbortSignal.timeout(30) }), AbortError);
  // Room appears only in a timer callback: resolving proves the loop ran while it waited.
  let freed = false;
  const pending = tx.reserve(500, { timeout: 60_000 });
  setTimeout(() => {
    while (rx.tryReceive() !== null);
    rx.release();
    freed = true;
  }, 0);
  const slot = await within(pending, 'reserve resolving once room appeared');
  t.ok(freed, 'the event loop ran the timer that made room while it waited');
  slot.bytes.fill(9);
  slot.commit(3);
  t.same([...rx.receiveSync({ timeout: 1_000 })], [9, 9, 9]);
});

t.test('reserve/commit: the consumer reads the very bytes the producer wrote', async (t) => {
  const ch = channel(t, {});
  const tx = ch.sender();
  const rx = ch.receiver();
  const slot = tx.reserveSync(64);
  t.ok(slot.bytes.buffer instanceof SharedArrayBuffer);
  slot.bytes.fill(5);
  t.equal(rx.tryReceive(), null, 'not visible before commit');
  slot.commit(10);
  t.throws(() => slot.commit(), { code: 'EINVAL' }, 'once only');
  const view = rx.receiveViewSync();
  t.equal(view.length, 10);
  t.equal(view.buffer, slot.bytes.buffer, 'same memory');
  t.equal(view.byteOffset, slot.bytes.byteOffset, 'same place: no copy was made');
  const cancelled = tx.reserveSync(30);
  cancelled.cancel();
  tx.sendSync(Uint8Array.of(1, 2, 3));
  t.same([...rx.receiveSync()], [1, 2, 3], 'a cancelled reservation is skipped');
  t.throws(() => tx.reserveSync(8).commit(9), { code: 'ERR_OUT_OF_RANGE' });
});

t.test('zero copy across processes: the view is the producer process memory', async (t) => {
  const ch = channel(t, {});
  const rx = ch.receiver();
  const child = spawn(process.execPath, [fixture('channel-producer.mjs'), ch.name, '0', '0', 'share'], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.teardown(() => child.kill('SIGKILL'));
  const lines = [];
  eachLine(child.stdout, (line) => lines.push(line));
  // A hang guard only: the producer is a new node process (slow to start under ASan on a loaded machine).
  const view = await rx.receiveView({ timeout: 60_000 });
  t.same([...view.subarray(0, 4)], [1, 1, 1, 1]);
  child.stdin.write('go\n');
  await until(() => lines.includes('written'), "the producer's 'written'");
  t.equal(view[0], 42, "the producer's later write shows through the consumer's view");
  child.stdin.end('bye\n');
});

t.test('receiveCopy keeps its bytes; receive views are reused ring space', async (t) => {
  const ch = channel(t, {});
  const tx = ch.sender();
  const rx = ch.receiver();
  tx.sendSync(Uint8Array.of(1));
  const copy = rx.receiveSync();
  t.notOk(copy.buffer instanceof SharedArrayBuffer);
  for (let i = 0; i < 100; i++) {
    tx.sendSync(new Uint8Array(100).fill(2));
    rx.receiveSync();
  }
  t.same([...copy], [1]);
});

t.test('one consumer, one single producer; drain; stats; close and dispose', async (t) => {
  const ch = channel(t, {});
  const tx = ch.sender();
  const rx = ch.receiver();
  t.throws(() => ch.receiver(), { code: 'EBUSY' });
  t.throws(() => Channel.open(ch.name).receiver(), { code: 'EBUSY' }, 'from another channel object too');
  t.throws(() => ch.sender(), { code: 'EBUSY' });
  for (let i = 0; i < 5; i++) tx.sendSync(Uint8Array.of(i, i));
  const seen = [];
  t.equal(rx.drain((bytes, offset, length) => seen.push(bytes[offset], length), 3), 3);
  t.same(seen, [0, 2, 1, 2, 2, 2]);
  const s = ch.stats();
  t.match(s, { capacity: 4096, messagesSent: 5, bytesSent: 10, producersAlive: 1, consumerAlive: true });
  t.ok(s.usedBytes > 0);
  t.equal(rx.drain(() => {}), 2);
  const multi = Channel.create(uniqueName('chdispose'), { producers: 'multi' });
  const senders = [multi.sender(), multi.sender(), multi.sender()];
  t.equal(multi.stats().producersAlive, 3);
  multi.unlink();
  multi[Symbol.dispose]();
  t.same(senders.map((x) => x.closed), [true, true, true], 'dispose closes the senders made from it');
  tx.close();
  t.throws(() => tx.sendSync(Uint8Array.of(1)), { code: 'EBADF' });
  t.equal(ch.stats().producersAlive, 0);
  ch.close();
  t.throws(() => rx.receiveSync(), { code: 'EBADF' });
  t.throws(() => ch.sender(), SystemError);
  ch.close();
});

t.test('sendMany: in order, checked before anything is sent, waits for room like send', async (t) => {
  const ch = channel(t, {});
  const tx = ch.sender();
  const rx = ch.receiver();
  t.throws(() => tx.sendManySync([Uint8Array.of(1), 'x']), { code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => tx.sendManySync([Uint8Array.of(1), new Uint8Array(5000)]), { code: 'EMSGSIZE' });
  t.equal(rx.tryReceive(), null, 'nothing was sent');
  tx.sendManySync([Uint8Array.of(1), Uint8Array.of(2, 2), new Uint8Array(0), Buffer.from('abc'), new Uint16Array([0x0201])]);
  t.same([rx.receiveSync(), rx.receiveSync(), rx.receiveSync(), rx.receiveSync(), rx.receiveSync()].map((m) => [...m]), [[1], [2, 2], [], [97, 98, 99], [1, 2]]);
  t.match(ch.stats(), { messagesSent: 5, bytesSent: 8 }, 'a batch is counted once it is published');
  const many = Array.from({ length: 100 }, (_, i) => new Uint8Array(100).fill(i));
  t.throws(() => tx.sendManySync(many, { timeout: 20 }), { code: 'ETIMEDOUT' }, 'more than the ring holds, with nobody reading');
  let got = 0;
  for (let m; (m = rx.tryReceive()) !== null; got++) t.equal(m[0], got);
  t.ok(got > 30, `the ${got} that fitted were published before waiting`);
});

t.test('closing the channel under a pending receive rejects it with EBADF', async (t) => {
  const ch = Channel.create(uniqueName('chclose'), { capacity: 4096, wait: 'block' });
  t.teardown(() => ch.unlink());
  const rx = ch.receiver();
  const pending = rx.receive({ timeout: 5_000 });
  setTimeout(() => ch.close(), 20);
  await t.rejects(pending, { code: 'EBADF' });
});

// for await over a receiver: every message once and in order, as copies that stay
// intact, and a flood never starves the event loop: a setImmediate scheduled while
// messages pour in runs before the loop has handed out more than 1024 more (a count).
import { spawn } from 'node:child_process';
import t from 'tap';
import { Channel, SharedMemory } from 'podshm';
import { fixture, uniqueName, within } from '../helpers.mjs';
import { internal } from '../internal.mjs';

const seq = (m) => new DataView(m.buffer, m.byteOffset, m.byteLength).getUint32(0, true);

t.test('a flooding producer: in order, intact, and setImmediate runs within 1024 messages', async (t) => {
  const name = uniqueName('flood');
  const total = 200_000;
  const ch = Channel.create(name, { capacity: 1 << 16 });
  t.teardown(() => (ch.unlink(), ch.close()));
  const rx = ch.receiver({ producersGone: 'end' });
  const producer = spawn(process.execPath, [fixture('flood-producer.mjs'), name, String(total)], { stdio: 'inherit' });
  t.teardown(() => producer.kill('SIGKILL'));
  let n = 0;
  let worst = 0;
  let scheduledAt = -1;
  const kept = [];
  for await (const msg of rx) {
    if (seq(msg) !== n) throw new Error(`message ${seq(msg)} where ${n} was due`);
    if (n % 9973 === 0) kept.push([n, msg]);
    n++;
    // Every so often: how many messages pass before a macrotask gets to run.
    if (scheduledAt < 0 && n % 5000 === 0) {
      scheduledAt = n;
      setImmediate(() => {
        worst = Math.max(worst, n - scheduledAt);
        scheduledAt = -1;
      });
    }
  }
  await within(new Promise((resolve) => (producer.exitCode !== null ? resolve() : producer.once('exit', resolve))), 'the producer exiting');
  t.equal(n, total, 'every message, once, in order');
  t.ok(worst <= 1024, `a setImmediate waited at most ${worst} messages`);
  t.ok(kept.every(([i, m]) => seq(m) === i && m.length === 64), 'messages kept from early batches are unchanged');
});

t.test('breaking out of the loop leaves the receiver usable; a big message gets its own batch', async (t) => {
  const ch = Channel.create(uniqueName('iterbreak'), { capacity: 1 << 20 });
  t.teardown(() => (ch.unlink(), ch.close()));
  const tx = ch.sender();
  const rx = ch.receiver();
  tx.sendSync(Uint8Array.of(1));
  tx.sendSync(new Uint8Array(300_000).fill(2));
  tx.sendSync(Uint8Array.of(3));
  const got = [];
  for await (const msg of rx) {
    got.push([msg[0], msg.length]);
    if (got.length === 2) break;
  }
  t.same(got, [[1, 1], [2, 300_000]]);
  // The third was copied out with the second's batch or is still in the ring: either
  // way a new loop, or a receive, must not lose it.
  const it = rx[Symbol.asyncIterator]();
  const third = await within(it.next(), 'the third message');
  t.same([third.value[0], third.value.length], [3, 1]);
});

t.test('leaving a loop in the middle of a batch loses nothing: the next receive gets the rest', async (t) => {
  const ch = Channel.create(uniqueName('iterrest'), { capacity: 4096 });
  t.teardown(() => (ch.unlink(), ch.close()));
  const tx = ch.sender();
  const rx = ch.receiver();
  const msg = (i) => Uint8Array.of(i, 0, 0, 0);
  for (let i = 0; i < 10; i++) tx.sendSync(msg(i));
  const got = [];
  for await (const m of rx) {
    got.push(seq(m));
    if (got.length === 3) break; // the other 7 were copied in the same batch
  }
  t.same(got, [0, 1, 2]);
  t.equal(seq(rx.receiveSync({ timeout: 10_000 })), 3, 'a receive after the loop gets the next one');
  for await (const m of rx) {
    got.push(seq(m));
    if (got.length === 7) break;
  }
  t.same(got, [0, 1, 2, 4, 5, 6, 7], 'a new loop goes on from there');
  const rest = [];
  for (let m; (m = rx.tryReceive()) !== null; ) rest.push(seq(m));
  t.same(rest, [8, 9]);
  t.equal(ch.stats().messagesReceived, 10, 'each counted once');
});

t.test('a batch that wraps the ring: leaving the loop on either side of the wrap loses nothing', async (t) => {
  const ch = Channel.create(uniqueName('iterwrap'), { capacity: 4096 });
  t.teardown(() => (ch.unlink(), ch.close()));
  const tx = ch.sender();
  const rx = ch.receiver();
  // 3600 of the 4096 bytes read and given back: the next records wrap after a few.
  for (let i = 0; i < 50; i++) tx.sendSync(new Uint8Array(64));
  t.equal(rx.drain(() => {}), 50);
  rx.release();
  // Sizes 4 to 100 (payloads padded to 8 in the ring); byte j of message i is i + j.
  const total = 40;
  const body = (i) => Uint8Array.from({ length: 4 + ((i * 37) % 97) }, (_, j) => (i + j) & 255);
  for (let i = 0; i < total; i++) tx.sendSync(body(i));
  const got = [];
  for (const stop of [3, 2, 4, 1, 7, 5, total]) {
    const start = got.length;
    for await (const m of rx) {
      got.push(m);
      if (got.length - start === stop || got.length === total) break;
    }
  }
  t.equal(got.length, total);
  t.ok(got.every((m, i) => m.length === body(i).length && m.every((b, j) => b === ((i + j) & 255))), 'every message whole, in order');
  t.equal(rx.tryReceive(), null, 'nothing delivered twice');
  t.equal(ch.stats().messagesReceived, 50 + total, 'each counted once');
});

t.test('return() while a next() waits on the yield, with messages over a batch each: nothing lost, the ring stays sound', async (t) => {
  const ch = Channel.create(uniqueName('iterreturn'), { capacity: 1 << 23 });
  t.teardown(() => (ch.unlink(), ch.close()));
  const tx = ch.sender();
  const rx = ch.receiver();
  const big = Buffer.alloc(300 * 1024);
  let sent = 0;
  const it = rx[Symbol.asyncIterator]();
  // The 1025th message handed out waits for a turn of the event loop first: return() comes then.
  for (let got = 0; got < 1024; got++) {
    while (tx.trySend((big.writeUInt32LE(sent, 0), big))) sent++;
    const { value } = await it.next();
    t.equal(Buffer.from(value.buffer, value.byteOffset, value.length).readUInt32LE(0), got, `message ${got} in order`, { diagnostic: false });
  }
  while (tx.trySend((big.writeUInt32LE(sent, 0), big))) sent++;
  const pending = it.next();
  t.same(await it.return(), { value: undefined, done: true });
  t.same(await pending, { value: undefined, done: true }, 'the waiting next() ends the loop');
  const m = rx.tryReceive();
  t.equal(Buffer.from(m.buffer, m.byteOffset, m.length).readUInt32LE(0), 1024, 'the next receive gets the first message not handed out');
  t.ok(tx.trySend(big), 'a producer still finds the ring sound');
});

t.test('return() while a next() waits for a message: the loop ends, and the message that comes is the next receive\'s', async (t) => {
  const ch = Channel.create(uniqueName('iterrefill'), { capacity: 4096 });
  t.teardown(() => (ch.unlink(), ch.close()));
  const tx = ch.sender();
  const rx = ch.receiver();
  for (let i = 1; i <= 3; i++) tx.sendSync(Uint8Array.of(i));
  const it = rx[Symbol.asyncIterator]();
  for (let i = 1; i <= 3; i++) t.same([...(await it.next()).value], [i]);
  const pending = it.next();
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.same(await it.return(), { value: undefined, done: true });
  tx.sendSync(Uint8Array.of(4));
  t.same(await within(pending, 'the waiting next()'), { value: undefined, done: true }, 'the waiting next() ends the loop');
  t.same([...rx.tryReceive()], [4], 'the message it found is not lost');
  t.equal(rx.tryReceive(), null, 'and nothing is handed out twice');
});

t.test('a next() that fails its receive (EBUSY) hands out nothing old when tried again', async (t) => {
  const ch = Channel.create(uniqueName('iterbusy'), { capacity: 4096 });
  t.teardown(() => (ch.unlink(), ch.close()));
  const tx = ch.sender();
  const rx = ch.receiver();
  tx.sendSync(Uint8Array.of(1));
  const it = rx[Symbol.asyncIterator]();
  t.same([...(await it.next()).value], [1]);
  const taken = rx.receive();
  await t.rejects(it.next(), { code: 'EBUSY' }, 'one receive at a time');
  tx.sendSync(Uint8Array.of(2));
  t.same([...(await taken)], [2]);
  tx.sendSync(Uint8Array.of(3));
  t.same([...(await within(it.next(), 'the next message')).value], [3], 'the next message, not the first again');
  await it.return();
});

t.test('a corrupt record met while a batch is copied: next() rejects, it does not throw', async (t) => {
  const { HEADER_SIZE, RECORD_HEADER } = internal('channel/layout');
  const ch = Channel.create(uniqueName('itercorrupt'), { capacity: 4096 });
  t.teardown(() => (ch.unlink(), ch.close()));
  const tx = ch.sender();
  tx.sendSync(new Uint8Array(8));
  tx.sendSync(new Uint8Array(8));
  const shm = SharedMemory.open(ch.name);
  t.teardown(() => shm.close());
  // The second record's header (after the first: its header and 8 bytes), with flags no producer writes.
  new Int32Array(shm.buffer)[(HEADER_SIZE + RECORD_HEADER + 8) >> 2] = 0x7ff00001;
  const it = ch.receiver()[Symbol.asyncIterator]();
  let next;
  t.doesNotThrow(() => (next = it.next()), 'next() returns');
  await t.rejects(next, { code: 'ERR_PODSHM_CORRUPT' }, 'a rejection');
});

// A channel's endpoints as Node streams (rx.readable(), tx.writable()), with the
// consumer in another process: what goes in comes out, a slow consumer holds the writer
// back, errors reach pipeline() at both ends, and destroy() leaves no wait behind.
import t from 'tap';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Channel } from 'podshm';
import { fixture, uniqueName, until, within } from '../helpers.mjs';

const MiB = 1 << 20;

function channel(t, capacity) {
  const name = uniqueName('stream');
  const ch = Channel.create(name, { capacity });
  t.teardown(() => {
    ch.close();
    try {
      Channel.unlink(name);
    } catch {}
  });
  return ch;
}

/** test/fixtures/stream-consumer.mjs in its own process, once it has said "ready". */
async function consumer(t, ch, mode) {
  const child = spawn(process.execPath, [fixture('stream-consumer.mjs'), ch.name, mode], { stdio: ['pipe', 'pipe', 'pipe'] });
  t.teardown(() => child.kill('SIGKILL'));
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  let raw = '';
  child.stdout.on('data', (d) => (raw += d));
  const exited = once(child, 'exit');
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const line = async (what) => {
    const r = await within(lines.next(), what, 120_000);
    if (r.done) throw new Error(`the consumer exited (${(await exited).join(' ')}) before ${what}: ${stderr} [stdout: ${raw}]`);
    return r.value;
  };
  t.equal(await line('"ready"'), 'ready');
  return {
    go: () => child.stdin.write('go\n'),
    result: async () => JSON.parse(await line('its result')),
    exitCode: async () => (await within(exited, 'the consumer to exit by itself'))[0],
  };
}

/** `total` bytes of a fixed pseudo-random sequence, in `chunk`-byte buffers. */
function* pattern(total, chunk) {
  let x = 0x2545f491;
  for (let at = 0; at < total; at += chunk) {
    const buf = Buffer.allocUnsafe(Math.min(chunk, total - at));
    const words = new Int32Array(buf.buffer, buf.byteOffset, buf.length >> 2);
    for (let i = 0; i < words.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      words[i] = x;
    }
    yield buf;
  }
}

/** A file-like source of pattern(); `pulled` counts what the pipeline took, `chunks` keeps it. */
function source(total, chunk, failAt = Infinity) {
  const state = { pulled: 0, hash: createHash('sha256'), chunks: [] };
  const data = pattern(total, chunk);
  state.stream = new Readable({
    highWaterMark: chunk,
    read() {
      if (state.pulled >= failAt) return this.destroy(new Error('the source failed'));
      const { value, done } = data.next();
      if (done) return this.push(null);
      state.hash.update(value);
      state.pulled += value.length;
      if (failAt !== Infinity) state.chunks.push(value);
      this.push(value);
    },
  });
  return state;
}

const turns = async (n) => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};

t.test('64 MiB piped through a channel into a hash in another process arrive whole', async (t) => {
  const ch = channel(t, MiB);
  const c = await consumer(t, ch, 'hash');
  c.go();
  const src = source(64 * MiB, 64 * 1024);
  const started = process.hrtime.bigint();
  await within(pipeline(src.stream, ch.sender().writable()), 'the pipeline to finish', 120_000);
  const result = await c.result();
  t.comment(`64 MiB in ${Number(process.hrtime.bigint() - started) / 1e6} ms`);
  t.same(result, { bytes: 64 * MiB, sha256: src.hash.digest('hex') });
  t.equal(await c.exitCode(), 0);
});

t.test('podshm at both ends of one pipeline: a relay process pipes channel -> transform -> channel', async (t) => {
  const inbound = channel(t, 256 * 1024);
  const outbound = channel(t, 256 * 1024);
  const relay = await consumer(t, inbound, `relay:${outbound.name}`);
  relay.go();
  const src = source(16 * MiB, 64 * 1024);
  const arrived = createHash('sha256');
  let bytes = 0;
  const check = new Writable({
    write(chunk, _encoding, callback) {
      bytes += chunk.length;
      arrived.update(chunk);
      callback();
    },
  });
  const out = outbound.receiver({ producersGone: 'end' });
  await within(Promise.all([pipeline(src.stream, inbound.sender().writable()), pipeline(out.readable(), check)]), 'both pipelines to finish', 120_000);
  t.same(await relay.result(), { relayed: true });
  t.equal(bytes, 16 * MiB);
  // What came back is the source inverted: invert it again and compare.
  const inverted = createHash('sha256');
  for (const chunk of pattern(16 * MiB, 64 * 1024)) inverted.update(chunk.map((b) => ~b));
  t.equal(arrived.digest('hex'), inverted.digest('hex'));
  t.equal(await relay.exitCode(), 0);
});

t.test('a consumer that reads nothing holds the writer back; once told to read, all arrives', async (t) => {
  const capacity = 64 * 1024;
  const chunk = 16 * 1024;
  const ch = channel(t, capacity);
  const c = await consumer(t, ch, 'hash');
  const src = source(8 * MiB, chunk);
  const writable = ch.sender().writable({ highWaterMark: chunk });
  const done = pipeline(src.stream, writable);
  // Full: the next 16 KiB record (16 KiB + 8) does not fit in what is left.
  await until(() => ch.stats().usedBytes > capacity - (chunk + 8), 'the ring to fill');
  await turns(100);
  const pulled = src.pulled;
  // The ring, the Writable's buffer, the source's buffer and the chunk in hand at most.
  t.ok(pulled <= capacity + 3 * chunk, `the source was read ${pulled} bytes ahead, no more than the buffers hold`);
  await turns(100);
  t.equal(src.pulled, pulled, 'nothing more is read while the consumer reads nothing');
  t.ok(writable.writableLength > 0, 'writes wait in the Writable');
  c.go();
  await within(done, 'the pipeline to finish once the consumer reads', 120_000);
  t.same(await c.result(), { bytes: 8 * MiB, sha256: src.hash.digest('hex') });
});

t.test('a consumer whose pipeline fails: both pipelines reject, both endpoints close, nothing is left', async (t) => {
  const ch = channel(t, 64 * 1024);
  const c = await consumer(t, ch, 'fail-after:1000000');
  c.go();
  const tx = ch.sender();
  await t.rejects(within(pipeline(source(64 * MiB, 64 * 1024).stream, tx.writable()), 'the pipeline to reject', 120_000), { code: 'ERR_PEER_GONE' }, 'the producer learns the consumer has gone');
  t.match(await c.result(), { error: /^failed after \d+ bytes$/, receiverClosed: true });
  t.equal(await c.exitCode(), 0, 'the consumer exits by itself: no receive left pending');
  t.equal(tx.closed, true, 'the Writable closed its sender');
  t.match(ch.stats(), { producersAlive: 0, consumerAlive: false });
  const file = ch.name.slice(1);
  ch.close();
  Channel.unlink(ch.name);
  t.same(
    readdirSync('/dev/shm').filter((f) => f.startsWith(file)),
    [],
    'neither the segment nor its bell is left in /dev/shm',
  );
});

t.test('a source that fails rejects pipeline() and closes the sender; the consumer sees the stream end there', async (t) => {
  const ch = channel(t, 64 * 1024);
  const c = await consumer(t, ch, 'hash');
  c.go();
  const tx = ch.sender();
  const src = source(8 * MiB, 16 * 1024, MiB);
  await t.rejects(within(pipeline(src.stream, tx.writable()), 'the pipeline to reject'), { message: 'the source failed' });
  t.equal(tx.closed, true);
  // What was written before the failure arrives, and then the stream ends: there is no
  // end marker in a byte stream, so a truncated one ends like a whole one. (Writes still
  // in the Writable's buffer when pipeline() destroyed it are dropped.)
  const result = await c.result();
  t.ok(result.bytes > 0 && result.bytes <= MiB, `${result.bytes} bytes arrived`);
  t.equal(result.sha256, createHash('sha256').update(Buffer.concat(src.chunks).subarray(0, result.bytes)).digest('hex'), 'the first bytes, in order');
});

t.test('destroy() during a pending receive closes the receiver and leaves no wait behind', async (t) => {
  const ch = channel(t, 64 * 1024);
  const c = await consumer(t, ch, 'destroy');
  c.go();
  t.same(await c.result(), { receiverClosed: true });
  t.equal(await c.exitCode(), 0, 'the consumer exits by itself');
  t.equal(ch.stats().consumerAlive, false);
});

t.test('Web Streams: Writable.toWeb() into the channel, Readable.toWeb() out of it in another process', async (t) => {
  const ch = channel(t, 256 * 1024);
  const c = await consumer(t, ch, 'web');
  c.go();
  const writer = Writable.toWeb(ch.sender().writable()).getWriter();
  const hash = createHash('sha256');
  let bytes = 0;
  for (const chunk of pattern(4 * MiB, 100 * 1000)) {
    await writer.write(chunk);
    hash.update(chunk);
    bytes += chunk.length;
  }
  await writer.close();
  t.same(await c.result(), { bytes, sha256: hash.digest('hex') });
});

t.test('bad options are ArgumentErrors', async (t) => {
  const ch = channel(t, 64 * 1024);
  const rx = ch.receiver();
  const tx = ch.sender();
  t.throws(() => rx.readable({ highWaterMak: 1 }), { code: 'ERR_UNKNOWN_OPTION', message: /did you mean "highWaterMark"/ });
  t.throws(() => tx.writable({ highWaterMark: -1 }), { code: 'ERR_OUT_OF_RANGE', argument: 'highWaterMark' });
  t.throws(() => tx.writable({ signal: 'no' }), { code: 'ERR_INVALID_ARG_TYPE', argument: 'signal' });
});

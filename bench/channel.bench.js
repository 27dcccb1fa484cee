// The channel against what a Node.js user could use instead, between two processes:
// round trip of 64 B (busy and idle-friendly), one-way throughput of 64 B messages, and
// the round trip of a 4 MiB message passed with reserve/commit (zero copy). C is the
// baseline of each group. The far side of every exchange is bench/channel-peer.js.
'use strict';
const { fork, spawn } = require('node:child_process');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { Channel } = require('podshm');

const PEER = path.join(__dirname, 'channel-peer.js');
// Each measurement runs for about this long (after a warm-up), or its count.
const SECONDS = Number(process.env.BENCH_SECONDS ?? 0.5);

let counter = 0;
const uniq = (tag) => `/podshm-bench-${process.pid}-${++counter}-${tag}`;

function exited(child) {
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`peer exited with ${code ?? signal}`))));
  });
}

// Makes two channels (ping: to the far side, pong: back), starts the far side as
// `channel-peer.js <mode> <ping> <pong> ...args`, and runs `body(tx, rx)` with this
// side's sender on ping and receiver on pong; `body` ends by telling the peer to stop
// and waiting for it. The peer is killed and the channels removed whatever happens.
async function withChannelPeer(tag, opts, mode, args, body) {
  const ping = Channel.create(uniq(`${tag}-ping`), opts);
  const pong = Channel.create(uniq(`${tag}-pong`), opts);
  const child = spawn(process.execPath, [PEER, mode, ping.name, pong.name, ...args], { stdio: 'inherit' });
  const finished = exited(child);
  try {
    return await body(ping.sender(), pong.receiver(), finished);
  } finally {
    child.kill();
    for (const ch of [ping, pong]) {
      ch.close();
      ch.unlink();
    }
  }
}

// Runs `once(i)` in a timed loop after a warm-up; returns ns per call.
function timed(once, maxCount) {
  const warm = Math.min(1000, maxCount / 10);
  for (let i = 0; i < warm; i++) once(i);
  const limit = SECONDS * 1e9;
  const t0 = process.hrtime.bigint();
  let n = 0;
  let elapsed = 0;
  while (n < maxCount) {
    for (let k = 0; k < 256 && n < maxCount; k++, n++) once(warm + n);
    elapsed = Number(process.hrtime.bigint() - t0);
    if (elapsed >= limit) break;
  }
  return elapsed / n;
}

async function channelRoundTrip(wait, size, how) {
  const opts = { capacity: size > 4096 ? 4 * size : 1 << 16, wait };
  return withChannelPeer(`rt-${wait}`, opts, 'channel-echo', [how], async (tx, rx, finished) => {
    const msg = new Uint8Array(size);
    const dv = new DataView(msg.buffer);
    const ns = timed((i) => {
      if (how === 'zero-copy') {
        const slot = tx.reserve(size);
        slot.bytes[0] = i & 255;
        slot.commit();
      } else {
        dv.setUint32(0, i, true);
        tx.send(msg);
      }
      const echo = rx.receive({ timeout: 10_000 });
      if (echo[0] !== (i & 255)) throw new Error('round trip returned the wrong message');
    }, 2_000_000);
    tx.send(new Uint8Array(0));
    await finished;
    return ns;
  });
}

// Both sides on the event loop (receiveAsync, sendAsync; for await on the far side), as
// a Node service replacing a socket would write it: the socket rows are on the event loop too.
async function channelRoundTripAsync(wait, rounds) {
  return withChannelPeer(`rta-${wait}`, { capacity: 1 << 16, wait }, 'channel-echo-async', [], async (tx, rx, finished) => {
    const msg = new Uint8Array(64);
    const dv = new DataView(msg.buffer);
    const once = async (i) => {
      dv.setUint32(0, i, true);
      await tx.sendAsync(msg);
      const echo = await rx.receiveAsync({ timeout: 10_000 });
      if (echo[0] !== (i & 255)) throw new Error('round trip returned the wrong message');
    };
    for (let i = 0; i < 1000; i++) await once(i);
    const t0 = process.hrtime.bigint();
    let n = 0;
    while (n < rounds && Number(process.hrtime.bigint() - t0) < SECONDS * 1e9) await once(n++);
    const ns = Number(process.hrtime.bigint() - t0) / n;
    await tx.sendAsync(new Uint8Array(0));
    await finished;
    return ns;
  });
}

// `many`: the producer sends batches of 64 with sendMany (one publication per batch).
// The clock starts after a tenth as many messages again have warmed both sides up (the
// first few million run before the JIT has optimised either loop); the sink checks them all.
async function channelOneWay(count, many) {
  const warm = count / 10;
  return withChannelPeer('oneway', { capacity: 1 << 20 }, 'channel-sink', [String(warm + count)], async (tx, rx, finished) => {
    const msg = new Uint8Array(64);
    const batch = Array.from({ length: 64 }, () => new Uint8Array(64));
    const stamp = (m, i) => {
      m[0] = i;
      m[1] = i >> 8;
      m[2] = i >> 16;
      m[3] = i >> 24;
    };
    const run = (from, to) => {
      if (many) {
        for (let i = from; i < to; i += 64) {
          for (let j = 0; j < 64; j++) stamp(batch[j], i + j);
          tx.sendMany(batch);
        }
      } else {
        for (let i = from; i < to; i++) {
          stamp(msg, i);
          tx.send(msg);
        }
      }
    };
    run(0, warm);
    const t0 = process.hrtime.bigint();
    run(warm, warm + count);
    const ok = rx.receive({ timeout: 60_000 })[0];
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    await finished;
    if (ok !== 1) throw new Error('the sink saw messages out of order');
    return count / secs;
  });
}

async function unixServer() {
  const file = path.join(os.tmpdir(), `podshm-bench-${process.pid}-${++counter}.sock`);
  const server = net.createServer();
  await new Promise((resolve) => server.listen(file, resolve));
  const accepted = new Promise((resolve) => server.once('connection', resolve));
  return { file, server, accepted };
}

async function unixRoundTrip(size, rounds) {
  const { file, server, accepted } = await unixServer();
  const child = spawn(process.execPath, [PEER, 'unix-echo', file], { stdio: 'inherit' });
  const sock = await accepted;
  const msg = Buffer.alloc(size);
  let got = 0;
  let wake = null;
  sock.on('data', (d) => {
    got += d.length;
    if (got >= size && wake) {
      got -= size;
      const w = wake;
      wake = null;
      w();
    }
  });
  const once = () => new Promise((resolve) => {
    wake = resolve;
    sock.write(msg);
  });
  for (let i = 0; i < 200; i++) await once();
  const t0 = process.hrtime.bigint();
  let n = 0;
  while (n < rounds && Number(process.hrtime.bigint() - t0) < SECONDS * 1e9) {
    await once();
    n++;
  }
  const ns = Number(process.hrtime.bigint() - t0) / n;
  sock.end();
  await exited(child);
  server.close();
  return ns;
}

async function unixOneWay(count) {
  const { file, server, accepted } = await unixServer();
  const child = spawn(process.execPath, [PEER, 'unix-sink', file, String(count * 64)], { stdio: 'inherit' });
  const sock = await accepted;
  const answered = new Promise((resolve) => sock.once('data', resolve));
  const msg = Buffer.alloc(64);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    // One write per message, as a user sends messages; respect backpressure.
    if (!sock.write(msg)) await new Promise((resolve) => sock.once('drain', resolve));
  }
  await answered;
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  sock.end();
  await exited(child);
  server.close();
  return count / secs;
}

async function ipcRoundTrip(rounds) {
  const child = fork(PEER, ['ipc-echo'], { serialization: 'advanced', stdio: 'inherit' });
  const finished = exited(child);
  const msg = new Uint8Array(64);
  const once = () => new Promise((resolve) => {
    child.once('message', resolve);
    child.send(msg);
  });
  for (let i = 0; i < 100; i++) await once();
  const t0 = process.hrtime.bigint();
  let n = 0;
  while (n < rounds && Number(process.hrtime.bigint() - t0) < SECONDS * 1e9) {
    await once();
    n++;
  }
  const ns = Number(process.hrtime.bigint() - t0) / n;
  child.send('end');
  await finished;
  return ns;
}

async function ipcOneWay(count) {
  const child = fork(PEER, ['ipc-sink', String(count)], { serialization: 'advanced', stdio: 'inherit' });
  const finished = exited(child);
  const answered = new Promise((resolve) => child.once('message', resolve));
  const msg = new Uint8Array(64);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    if (!child.send(msg)) await new Promise((resolve) => setImmediate(resolve));
  }
  await answered;
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  await finished;
  return count / secs;
}

// shm-typed-array (a devDependency) gives shared memory and nothing to wait with; a
// user would spin on a word with Atomics.
function shmta() {
  try {
    return require('shm-typed-array');
  } catch {
    return null;
  }
}

async function shmtaRoundTrip(shm, rounds) {
  const key = uniq('shmta-rt');
  const buf = shm.create(4096, 'Buffer', key);
  const word = new Int32Array(buf.buffer, buf.byteOffset, 2);
  const child = spawn(process.execPath, [PEER, 'shmta-echo', key], { stdio: 'inherit' });
  const finished = exited(child);
  try {
    const ns = timed((i) => {
      Atomics.store(word, 0, 2 * i + 1);
      while (Atomics.load(word, 0) !== 2 * i + 2);
    }, rounds);
    Atomics.store(word, 1, 1);
    await finished;
    return ns;
  } finally {
    child.kill();
    shm.destroy(key);
  }
}

async function shmtaOneWay(shm, count) {
  const key = uniq('shmta-ow');
  const SLOTS = 16384;
  const buf = shm.create(512 + SLOTS * 64, 'Buffer', key);
  const i32 = new Int32Array(buf.buffer, buf.byteOffset, buf.length >> 2);
  // Warmed up as channelOneWay is.
  const warm = count / 10;
  const child = spawn(process.execPath, [PEER, 'shmta-sink', key, String(warm + count)], { stdio: 'inherit' });
  const finished = exited(child);
  try {
    const msg = Buffer.alloc(64);
    let tail = 0;
    const run = (from, to) => {
      for (let i = from; i < to; i++) {
        while (i - tail >= SLOTS) tail = Atomics.load(i32, 32);
        msg.writeInt32LE(i, 0);
        msg.copy(buf, 512 + (i % SLOTS) * 64);
        Atomics.store(i32, 0, i + 1);
      }
    };
    run(0, warm);
    const t0 = process.hrtime.bigint();
    run(warm, warm + count);
    while (Atomics.load(i32, 64) === 0);
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    await finished;
    if (Atomics.load(i32, 64) !== 1) throw new Error('shm-typed-array sink saw wrong data');
    return count / secs;
  } finally {
    child.kill();
    shm.destroy(key);
  }
}

async function run(suite) {
  const pingpong = suite.cProgram('channel_pingpong');
  const spsc = suite.cProgram('channel_spsc');
  const c = (program, args) => async () => Number(await suite.capture(program, args));
  const shm = shmta();

  let g = 'channel: round trip 64 B, busy';
  await suite.alternate(g, [
    { name: 'C spin ping-pong (shared word)', unit: 'ns', measure: c(pingpong, ['spin', '300000']) },
    { name: "podshm Channel wait 'adaptive'", unit: 'ns', measure: () => channelRoundTrip('adaptive', 64, 'copy') },
    { name: "podshm Channel wait 'spin'", unit: 'ns', measure: () => channelRoundTrip('spin', 64, 'copy') },
    { name: "podshm Channel 'adaptive', event loop (async)", unit: 'ns', measure: () => channelRoundTripAsync('adaptive', 1_000_000) },
    ...(shm ? [{ name: 'shm-typed-array + Atomics spin (word only)', unit: 'ns', measure: () => shmtaRoundTrip(shm, 2_000_000) }] : []),
  ]);
  suite.record(g, 'Node Unix socket', await unixRoundTrip(64, 50_000), 'ns');
  suite.record(g, 'child_process IPC (process.send)', await ipcRoundTrip(50_000), 'ns');

  g = 'channel: round trip 64 B, idle-friendly';
  await suite.alternate(g, [
    { name: 'C futex ping-pong', unit: 'ns', measure: c(pingpong, ['futex', '20000']) },
    { name: "C futex ping-pong, 2 µs spin first ('block')", unit: 'ns', measure: c(pingpong, ['futex-spin', '100000']) },
    { name: "podshm Channel wait 'block'", unit: 'ns', measure: () => channelRoundTrip('block', 64, 'copy') },
    { name: "podshm Channel 'block', event loop (async)", unit: 'ns', measure: () => channelRoundTripAsync('block', 1_000_000) },
  ]);

  g = 'channel: one-way 64 B messages';
  await suite.alternate(g, [
    { name: 'C ring, channel layout, publish per message', unit: 'msg/s', measure: c(spsc, ['20000000', '1']) },
    { name: 'C ring, channel layout, publish per 64', unit: 'msg/s', measure: c(spsc, ['50000000', '64']) },
    { name: 'podshm Channel sendMany(64) + drain', unit: 'msg/s', measure: () => channelOneWay(10_000_000, true) },
    { name: 'podshm Channel send + drain', unit: 'msg/s', measure: () => channelOneWay(4_000_000, false) },
  ]);
  if (shm) suite.record(g, 'shm-typed-array + hand-written ring', await shmtaOneWay(shm, 5_000_000), 'msg/s');
  suite.record(g, 'Node Unix socket (one write per message)', await unixOneWay(1_000_000), 'msg/s');
  suite.record(g, 'child_process IPC (process.send)', await ipcOneWay(200_000), 'msg/s');

  g = 'channel: round trip 4 MiB, zero copy';
  await suite.alternate(g, [
    { name: 'podshm Channel 64 B (adaptive)', unit: 'ns', measure: () => channelRoundTrip('adaptive', 64, 'copy') },
    { name: 'podshm Channel 4 MiB reserve/commit', unit: 'ns', measure: () => channelRoundTrip('adaptive', 4 << 20, 'zero-copy') },
  ]);
  suite.record(g, 'Node Unix socket 4 MiB', await unixRoundTrip(4 << 20, 2_000), 'ns');
}

module.exports = { run };

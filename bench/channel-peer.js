// The far side of bench/channel.bench.js, in its own process:
//   channel-peer.js channel-echo <ping> <pong> copy|zero-copy   echo each message back
//   channel-peer.js channel-echo-async <ping> <pong>            the same on the event loop
//   channel-peer.js channel-sink <ping> <pong> <count>          count messages, answer once at the end
//   channel-peer.js unix-echo <path> | unix-sink <path> <bytes>
//   channel-peer.js ipc-echo | ipc-sink <count>                  (process.send, forked)
//   channel-peer.js shmta-echo <key> | shmta-sink <key> <count>  (shm-typed-array)
// An empty message (channel) ends an echo loop.
'use strict';
const net = require('node:net');

const [mode, ...args] = process.argv.slice(2);

function channelEcho(ping, pong, how) {
  const { Channel } = require('podshm');
  const rxc = Channel.open(ping);
  const txc = Channel.open(pong);
  const rx = rxc.receiver();
  const tx = txc.sender();
  for (;;) {
    const msg = rx.receive();
    if (msg.length === 0) break;
    if (how === 'zero-copy') {
      // Answer in kind without touching the payload: only the sequence word is copied.
      const slot = tx.reserve(msg.length);
      slot.bytes.set(msg.subarray(0, 8));
      slot.commit();
    } else {
      tx.send(msg);
    }
  }
  tx.close();
  rx.close();
}

// What a Node service on the event loop writes: for await, sendAsync.
async function channelEchoAsync(ping, pong) {
  const { Channel } = require('podshm');
  const rx = Channel.open(ping).receiver();
  const tx = Channel.open(pong).sender();
  for await (const msg of rx) {
    if (msg.length === 0) break;
    await tx.sendAsync(msg);
  }
  tx.close();
  rx.close();
}

function channelSink(ping, pong, count) {
  const { Channel } = require('podshm');
  const rx = Channel.open(ping).receiver();
  const tx = Channel.open(pong).sender();
  let expect = 0;
  let bad = 0;
  const check = (bytes, offset) => {
    if ((bytes[offset] | (bytes[offset + 1] << 8) | (bytes[offset + 2] << 16) | (bytes[offset + 3] << 24)) !== expect) bad++;
    expect++;
  };
  while (expect < count) {
    if (rx.drain(check) === 0) {
      const msg = rx.receive();
      check(msg, 0);
    }
  }
  tx.send(Uint8Array.of(bad === 0 ? 1 : 0));
}

function unixEcho(path) {
  const sock = net.connect(path);
  sock.setNoDelay?.(true);
  sock.on('data', (d) => sock.write(d));
  sock.on('end', () => sock.end());
}

function unixSink(path, bytes) {
  const sock = net.connect(path);
  let got = 0;
  sock.on('data', (d) => {
    got += d.length;
    if (got >= bytes) sock.end(Buffer.of(1));
  });
}

function ipcEcho() {
  process.on('message', (m) => {
    if (m === 'end') process.disconnect();
    else process.send(m);
  });
}

function ipcSink(count) {
  let got = 0;
  process.on('message', () => {
    if (++got === count) {
      process.send('done');
      process.disconnect();
    }
  });
}

// shm-typed-array gives shared memory but no way to wait across processes, so a user
// spins on a word with Atomics (which work on its non-shared buffer).
function shmtaEcho(key) {
  const shm = require('shm-typed-array');
  const buf = shm.get(key, 'Buffer');
  const word = new Int32Array(buf.buffer, buf.byteOffset, 2);
  for (let seq = 1; ; seq += 2) {
    while (Atomics.load(word, 0) !== seq) if (Atomics.load(word, 1) !== 0) return;
    Atomics.store(word, 0, seq + 1);
  }
}

function shmtaSink(key, count) {
  const shm = require('shm-typed-array');
  const buf = shm.get(key, 'Buffer');
  const SLOTS = (buf.length - 512) / 64;
  const i32 = new Int32Array(buf.buffer, buf.byteOffset, buf.length >> 2);
  // head at byte 0, tail at 128, the result at 256, 64-byte slots from 512: the ring a user would write.
  let tail = 0;
  let bad = 0;
  while (tail < count) {
    const head = Atomics.load(i32, 0);
    while (tail < head) {
      if (i32[(512 + (tail % SLOTS) * 64) >> 2] !== tail) bad++;
      tail++;
    }
    Atomics.store(i32, 32, tail);
  }
  Atomics.store(i32, 64, bad === 0 ? 1 : 2);
}

switch (mode) {
  case 'channel-echo': channelEcho(args[0], args[1], args[2]); break;
  case 'channel-echo-async': channelEchoAsync(args[0], args[1]); break;
  case 'channel-sink': channelSink(args[0], args[1], Number(args[2])); break;
  case 'unix-echo': unixEcho(args[0]); break;
  case 'unix-sink': unixSink(args[0], Number(args[1])); break;
  case 'ipc-echo': ipcEcho(); break;
  case 'ipc-sink': ipcSink(Number(args[0])); break;
  case 'shmta-echo': shmtaEcho(args[0]); break;
  case 'shmta-sink': shmtaSink(args[0], Number(args[1])); break;
  default: throw new Error(`unknown mode ${mode}`);
}

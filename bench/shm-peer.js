// The Node.js sides of bench/shm.bench.js. Each transport moves FRAMES frames of 1 MiB:
// the writer fills each with its pattern, the reader checks every word, as in C.
//   node shm-peer.js <transport> writer|reader [name]
'use strict';
const net = require('node:net');
const { SharedMemory } = require('..');

const FRAME = 1 << 20;
const SLOTS = 8;
const HEADER = 128;
const pattern = (seq) => Math.imul(seq + 1, 0x9e3779b1) >>> 0;

function check(words, seq) {
  const want = pattern(seq);
  let bad = 0;
  for (let i = 0; i < words.length; i++) bad += words[i] !== want ? 1 : 0;
  return bad;
}

const [transport, role, name, framesArg] = process.argv.slice(2);
const FRAMES = Number(framesArg);

if (transport === 'podshm' && role === 'reader') {
  const shm = SharedMemory.open(name);
  const head = new Int32Array(shm.buffer, 0, HEADER / 4);
  let bad = 0;
  for (let seq = 0; seq < FRAMES; seq++) {
    while (Atomics.load(head, 0) === seq);
    bad += check(new Uint32Array(shm.buffer, HEADER + (seq % SLOTS) * FRAME, FRAME / 4), seq);
    Atomics.store(head, 16, seq + 1);
  }
  process.exit(bad === 0 ? 0 : 1);
}

if (transport === 'podshm' && role === 'writer') {
  const shm = SharedMemory.open(name);
  const head = new Int32Array(shm.buffer, 0, HEADER / 4);
  for (let seq = 0; seq < FRAMES; seq++) {
    while (seq - Atomics.load(head, 16) >= SLOTS);
    new Uint32Array(shm.buffer, HEADER + (seq % SLOTS) * FRAME, FRAME / 4).fill(pattern(seq));
    Atomics.store(head, 0, seq + 1);
  }
  while (Atomics.load(head, 16) < FRAMES);
  process.exit(0);
}

if (transport === 'socket' && role === 'reader') {
  // Frames arrive as a byte stream in chunks of any size: check each word by position.
  let offset = 0;
  let bad = 0;
  let carry = Buffer.alloc(0);
  const server = net.createServer((sock) => {
    sock.on('data', (chunk) => {
      const buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
      const whole = buf.length & ~3;
      const words = new Uint32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + whole));
      for (let i = 0; i < words.length; i++, offset += 4) bad += words[i] !== pattern(Math.floor(offset / FRAME)) ? 1 : 0;
      carry = Buffer.from(buf.subarray(whole));
      if (offset === FRAMES * FRAME) {
        sock.end();
        server.close();
        process.exitCode = bad === 0 ? 0 : 1;
      }
    });
  });
  server.listen(name, () => process.send('listening'));
}

if (transport === 'socket' && role === 'writer') {
  const sock = net.connect(name, async () => {
    for (let seq = 0; seq < FRAMES; seq++) {
      const frame = Buffer.allocUnsafe(FRAME);
      new Uint32Array(frame.buffer, frame.byteOffset, FRAME / 4).fill(pattern(seq));
      if (!sock.write(frame)) await new Promise((r) => sock.once('drain', r));
    }
    sock.end();
  });
  sock.on('close', () => process.exit(0));
}

if (transport === 'ipc' && role === 'reader') {
  let seq = 0;
  let bad = 0;
  process.on('message', (m) => {
    // The frame arrives as a Uint8Array; copy only if it is not 4-byte aligned.
    const u = m.frame.byteOffset % 4 === 0 ? m.frame : new Uint8Array(m.frame);
    bad += check(new Uint32Array(u.buffer, u.byteOffset, FRAME / 4), seq++);
    process.send('ack');
    if (seq === FRAMES) process.exit(bad === 0 ? 0 : 1);
  });
}

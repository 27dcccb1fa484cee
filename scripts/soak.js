#!/usr/bin/env node
// A soak run of the Channel: 2 producer processes, 1 consumer (this process), one
// multi-producer channel. Every message carries its producer, a sequence number and a
// checksum of its bytes; the consumer checks that each producer's messages arrive
// exactly once, in order, intact. Producers mix send(), sendMany() and reserve()/commit()
// with lengths from 16 to 512 bytes.
//   node scripts/soak.js [--seconds N | --messages N]   (default: --seconds 60)
// Prints one JSON line; exit status 1 on any lost, duplicated, reordered or damaged message.
'use strict';
const { fork } = require('node:child_process');
const path = require('node:path');
const { Channel } = require(path.join(__dirname, '..', 'dist', 'cjs', 'index.js'));

const HEADER = 12; // producer u32, sequence u32, checksum u32
const PRODUCERS = 2;

/** FNV-1a over bytes[from, to). */
function checksum(bytes, from, to) {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return h >>> 0;
}

/** Fills `m` (its length chosen by the caller) as message `seq` of producer `id`. */
function fill(m, id, seq) {
  const v = new DataView(m.buffer, m.byteOffset, m.byteLength);
  v.setUint32(0, id, true);
  v.setUint32(4, seq, true);
  for (let i = HEADER; i < m.length; i++) m[i] = (seq * 31 + i * 7 + id) & 0xff;
  v.setUint32(8, checksum(m, HEADER, m.length), true);
}

const lengthOf = (seq) => HEADER + 4 + ((seq * 2654435761) >>> 0) % 497;

function producer(name, id) {
  const tx = Channel.open(name).sender();
  let seq = 0;
  process.on('message', () => {
    tx.close();
    process.send({ sent: seq });
    process.exit(0);
  });
  const batch = [];
  const step = () => {
    const deadline = Date.now() + 50;
    while (Date.now() < deadline) {
      const way = seq % 3;
      if (way === 0) {
        const m = new Uint8Array(lengthOf(seq));
        fill(m, id, seq++);
        tx.sendSync(m);
      } else if (way === 1) {
        batch.length = 0;
        for (let i = 0; i < 16; i++) {
          const m = new Uint8Array(lengthOf(seq + i));
          fill(m, id, seq + i);
          batch.push(m);
        }
        tx.sendManySync(batch);
        seq += 16;
      } else {
        const slot = tx.reserveSync(lengthOf(seq));
        fill(slot.bytes, id, seq++);
        slot.commit();
      }
    }
    setImmediate(step); // lets the stop message in
  };
  step();
}

async function consumer() {
  const args = process.argv.slice(2);
  const value = (flag) => (args.includes(flag) ? Number(args[args.indexOf(flag) + 1]) : undefined);
  const messages = value('--messages');
  const seconds = messages === undefined ? value('--seconds') ?? 60 : Infinity;
  const name = `/podshm-soak-${process.pid}`;
  const ch = Channel.create(name, { capacity: 1 << 20, producers: 'multi' });
  const rx = ch.receiver();
  const children = Array.from({ length: PRODUCERS }, (_, id) => fork(__filename, ['--producer', name, String(id)]));
  const expected = new Array(PRODUCERS).fill(0);
  let received = 0;
  let bytes = 0;
  let bad = 0;
  const firstBad = [];
  const start = Date.now();
  const end = start + seconds * 1000;
  const handle = (u8, offset, length) => {
    const v = new DataView(u8.buffer, u8.byteOffset + offset, length);
    const id = v.getUint32(0, true);
    const seq = v.getUint32(4, true);
    const ok = id < PRODUCERS && length === lengthOf(seq) && seq === expected[id] && v.getUint32(8, true) === checksum(u8, offset + HEADER, offset + length);
    if (!ok) {
      bad++;
      if (firstBad.length < 5) firstBad.push({ id, seq, expected: expected[id], length });
    }
    if (id < PRODUCERS) expected[id] = seq + 1;
    received++;
    bytes += length;
  };
  for (;;) {
    if (rx.drain(handle, 4096) === 0) {
      if (Date.now() >= end || (messages !== undefined && received >= messages)) break;
      const m = await rx.receive({ timeout: 1000 }).catch(() => null);
      if (m) {
        handle(m, 0, m.length);
        rx.release();
      }
    } else if (messages !== undefined && received >= messages) {
      break;
    }
  }
  // Stop the producers, draining meanwhile (one may wait for room), then take the rest.
  let stopped = 0;
  const sent = Promise.all(children.map((c) => new Promise((resolve) => {
    c.once('message', (m) => {
      stopped++;
      resolve(m.sent);
    });
    c.send('stop');
  })));
  while (stopped < PRODUCERS) {
    if (rx.drain(handle) === 0) await new Promise((r) => setTimeout(r, 1));
  }
  rx.drain(handle);
  const seconds_ = (Date.now() - start) / 1000;
  const counts = await sent;
  const lost = counts.reduce((n, s, id) => n + (s - expected[id]), 0);
  ch.close();
  Channel.unlink(name);
  const result = {
    producers: PRODUCERS,
    seconds: Math.round(seconds_ * 10) / 10,
    messages: received,
    bytes,
    perSecond: Math.round(received / seconds_),
    sent: counts.reduce((a, b) => a + b, 0),
    lost,
    damagedOrOutOfOrder: bad,
    maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    ...(firstBad.length ? { firstBad } : {}),
  };
  console.log(JSON.stringify(result));
  process.exitCode = bad === 0 && lost === 0 ? 0 : 1;
}

if (process.argv[2] === '--producer') producer(process.argv[3], Number(process.argv[4]));
else consumer();

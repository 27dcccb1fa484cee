#!/usr/bin/env node
// What `for await` itself costs per message, with no ring and no peer: an async
// iterator that hands out batches the way a Channel receiver's iterator does (each batch
// copied into a new chunk with one copy, a new view per message, a resolved promise and
// a result object per message), beside the protocol alone (one settled promise handed out
// again and again, no view: what no iterator can go below) and a plain loop over the same
// batches. No implementation of the iteration protocol that hands out a view per message
// can go faster than the first figure on this machine, so it bounds how close `for
// await` over a channel can come to the batch path
// (docs/performance.md, "The for-await loop"). Then what each allocates per message.
// Standalone:
// `node bench/for-await-floor.js [messages] [rounds]`.
'use strict';
const v8 = require('node:v8');

const messages = Number(process.argv[2] ?? 5e6);
const rounds = Number(process.argv[3] ?? 5);
const BATCH = 1024;
const SIZE = 64;

const source = new Uint8Array(BATCH * SIZE);

function batchOfViews() {
  const chunk = source.slice().buffer;
  const out = new Array(BATCH);
  for (let i = 0; i < BATCH; i++) out[i] = new Uint8Array(chunk, i * SIZE, SIZE);
  return out;
}

function iterator() {
  let left = messages;
  let next = BATCH;
  let batch = [];
  const it = {
    next: () => {
      if (left === 0) return Promise.resolve({ value: undefined, done: true });
      if (next === BATCH) {
        batch = batchOfViews();
        next = 0;
      }
      left--;
      return Promise.resolve({ value: batch[next++], done: false });
    },
    [Symbol.asyncIterator]: () => it,
  };
  return it;
}

async function forAwait(it) {
  let bytes = 0;
  for await (const m of it) bytes += m.length;
  return bytes;
}

// The same result object, in the same settled promise, each time: no allocation at all.
function bareProtocol() {
  let left = messages;
  const result = { value: source, done: false };
  const settled = Promise.resolve(result);
  const end = Promise.resolve({ value: undefined, done: true });
  const it = { next: () => (left-- > 0 ? settled : end), [Symbol.asyncIterator]: () => it };
  return it;
}

function plainLoop() {
  let bytes = 0;
  for (let left = messages; left > 0; ) {
    const batch = batchOfViews();
    for (let i = 0; i < BATCH && left > 0; i++, left--) bytes += batch[i].length;
  }
  return bytes;
}

// Bytes a loop allocates per message: the growth of V8's young generation over windows
// of 500 messages in which no collection ran (the median of them).
const young = () => v8.getHeapSpaceStatistics().find((sp) => sp.space_name === 'new_space').space_used_size;
async function bytesPerMessage(make) {
  const growth = [];
  for (let w = 0; w < 300; w++) {
    let i = 0;
    const before = young();
    for await (const m of make()) if (++i === 500 || m === undefined) break;
    const after = young();
    if (w >= 100 && after > before) growth.push((after - before) / 500);
  }
  growth.sort((a, b) => a - b);
  return growth[growth.length >> 1];
}

const rate = (ns) => `${((messages / ns) * 1e3).toFixed(2)} M msg/s (${(ns / messages).toFixed(1)} ns/msg)`;

async function main() {
  console.log(`# for await over ready messages: ${messages} x ${SIZE} B, ${rounds} rounds, Node ${process.version}`);
  const best = { forAwait: Infinity, bare: Infinity, plain: Infinity };
  for (let r = 0; r < rounds; r++) {
    let t = process.hrtime.bigint();
    await forAwait(iterator());
    const a = Number(process.hrtime.bigint() - t);
    t = process.hrtime.bigint();
    await forAwait(bareProtocol());
    const p = Number(process.hrtime.bigint() - t);
    t = process.hrtime.bigint();
    plainLoop();
    const b = Number(process.hrtime.bigint() - t);
    best.forAwait = Math.min(best.forAwait, a);
    best.bare = Math.min(best.bare, p);
    best.plain = Math.min(best.plain, b);
    console.log(`round ${r + 1}: for await ${rate(a)}; protocol alone ${rate(p)}; plain loop ${rate(b)}`);
  }
  console.log(`best: for await ${rate(best.forAwait)}; protocol alone ${rate(best.bare)}; plain loop ${rate(best.plain)}`);
  const [viewBytes, bareBytes] = [await bytesPerMessage(iterator), await bytesPerMessage(bareProtocol)];
  console.log(`allocated per message: for await ${viewBytes.toFixed(0)} B; protocol alone ${bareBytes.toFixed(0)} B`);
}

main();

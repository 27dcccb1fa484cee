#!/usr/bin/env node
// Two builds of podshm side by side in one process, for the before and after of a change
// to the fast paths: podshm's in-process operations that keep their names across
// versions (the try* calls, a wake with nobody asleep, a queue's try calls), timed in
// alternation, so that the load of a shared machine falls on both builds alike. The
// suite's groups run each build in processes of their own, minutes apart, and on a
// loaded machine their spread is larger than any difference between builds. Usage:
//   node bench/ab.js BEFORE_DIR AFTER_DIR [--rounds N]
// Each directory is a built checkout (`git worktree add DIR COMMIT`, then `npm ci`
// there); each loads its own addon. Prints, per operation, the median ns per call of
// each build and the quartiles of the per-round ratio after/before.
'use strict';
const path = require('node:path');
const { parseArgs } = require('node:util');

const { values: opts, positionals: dirs } = parseArgs({ options: { rounds: { type: 'string', default: '15' } }, allowPositionals: true });
if (dirs.length !== 2) {
  console.error('usage: node bench/ab.js BEFORE_DIR AFTER_DIR [--rounds N]');
  process.exit(2);
}
const rounds = Number(opts.rounds);
const tag = `/podshm-ab-${process.pid}`;
const cleanup = [];

// name -> [calls per round, operation]
function operations(podshm, side) {
  const { Channel, FutexWord, MessageQueue, Mutex, Semaphore, SharedMemory, Topic } = podshm;
  const shm = SharedMemory.create(`${tag}-${side}`, 4096);
  const channel = Channel.create(`${tag}-${side}-ch`, { capacity: 4096 });
  // Either side of the issue-17 rename (create/open, receive copies by default).
  const queue = MessageQueue.create
    ? MessageQueue.create(`${tag}-${side}-mq`, { maxMessages: 4, messageSize: 64 })
    : MessageQueue.open(`${tag}-${side}-mq`, { create: true, maxMessages: 4, messageSize: 64 });
  const topic = Topic.create(`${tag}-${side}-topic`, { capacity: 4096 });
  cleanup.push(() => {
    topic.close();
    topic.unlink();
    shm.close();
    shm.unlink();
    channel.close();
    channel.unlink();
    queue.close();
    MessageQueue.unlink(`${tag}-${side}-mq`);
  });
  const sem = Semaphore.init(shm, 0, 1);
  const mutex = Mutex.init(shm, 64);
  const tx = channel.sender();
  const rx = channel.receiver();
  const word = new FutexWord(shm.mapping, 128);
  const msg = new Uint8Array(64);
  const sub = topic.subscriber();
  const pub = topic.publisher();
  return {
    'semaphore tryAcquire+release': [200_000, () => (sem.tryAcquire(), sem.release())],
    'mutex tryLock+unlock': [200_000, () => (mutex.tryLock(), mutex.unlock())],
    'channel trySend+tryReceive, 64 B': [200_000, rx.tryReceiveView ? () => (tx.trySend(msg), rx.tryReceiveView()) : () => (tx.trySend(msg), rx.tryReceive())],
    'channel trySend+tryReceive copy, 64 B': [200_000, () => (tx.trySend(msg), rx.tryReceive())],
    'topic tryPublish+tryReceive, 64 B': [200_000, () => (pub.tryPublish(msg), sub.tryReceive())],
    'FutexWord wake, nobody asleep': [50_000, () => word.wake(1)],
    'MessageQueue trySend+tryReceive, 64 B': [30_000, () => (queue.trySend(msg), queue.tryReceive())],
  };
}

function time([calls, op]) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) op();
  return Number(process.hrtime.bigint() - t0) / calls;
}

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

try {
  const [before, after] = dirs.map((dir, i) => operations(require(path.resolve(dir, 'dist/cjs/index.js')), i ? 'after' : 'before'));
  console.log(`# node bench/ab.js ${process.argv.slice(2).join(' ')}  (${process.version}, ${rounds} rounds)`);
  console.log(`${'operation'.padEnd(40)} ${'before'.padStart(10)} ${'after'.padStart(10)}   after/before by round: q1, median, q3`);
  for (const name of Object.keys(before)) {
    time(before[name]);
    time(after[name]);
    const ns = { before: [], after: [] };
    const ratios = [];
    for (let r = 0; r < rounds; r++) {
      // Alternating which goes first, so that neither always follows the other.
      const t = {};
      for (const side of r % 2 ? ['after', 'before'] : ['before', 'after']) t[side] = time(side === 'before' ? before[name] : after[name]);
      ns.before.push(t.before);
      ns.after.push(t.after);
      ratios.push(t.after / t.before);
    }
    const med = (xs) => quantile([...xs].sort((x, y) => x - y), 0.5);
    const q = [...ratios].sort((x, y) => x - y);
    const fmt = (v) => `${v.toFixed(1)} ns`.padStart(10);
    console.log(`${name.padEnd(40)} ${fmt(med(ns.before))} ${fmt(med(ns.after))}   ${[0.25, 0.5, 0.75].map((p) => quantile(q, p).toFixed(2)).join(', ')}`);
  }
} finally {
  for (const c of cleanup) c();
}

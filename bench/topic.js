#!/usr/bin/env node
// Fan-out: one publisher process sending 64 B messages as fast as the slowest reader
// lets it to 1, 2 and 4 subscriber processes, through one Topic ('block' policy: each
// message written once), through one Channel per subscriber (each message written
// once per subscriber), or through zeromq PUB/SUB over ipc:// (no high-water mark, so
// nothing is dropped once subscribed; the publisher waits half a second after binding
// for subscriptions to arrive, and its rate is not held back by its readers). Standalone: `node bench/topic.js [seconds] [subscriber counts...]`
// (default 2 s, 1 2 4), after `npm run build`; TOPIC_BENCH_REPS sets the rounds (3).
//
// Each run starts fresh processes. The subscribers read with the zero-copy batch path
// (drain, then a blocking wait when empty) and check that the sequence numbers follow;
// the publisher sends for `seconds`, then an end message. Figures: messages per second
// each subscriber received (the slowest of them), from its first message to the end
// message, and the CPU µs per message published of every process together. The rows
// are measured in alternation and each figure is the median of the rounds.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const SIZE = 64;
const END = 1; // a message of one byte ends a run

async function zeromqSubscriber(file) {
  const zmq = require('zeromq');
  const sock = new zmq.Subscriber({ receiveHighWaterMark: 0 });
  sock.connect(`ipc://${file}`);
  sock.subscribe();
  process.stdout.write('READY\n');
  let next = -1;
  let count = 0;
  let errors = 0;
  let first = 0;
  for await (const [m] of sock) {
    if (m.length === END) break;
    const n = m.readUInt32LE(0);
    // The first messages may go before the subscription arrives: count from the first one here.
    if (next >= 0 && n !== next) errors++;
    next = n + 1;
    if (count++ === 0) first = performance.now();
  }
  const seconds = (performance.now() - first) / 1000;
  sock.close();
  const cpu = process.resourceUsage();
  process.stdout.write(`RESULT ${JSON.stringify({ rate: count / seconds, count, errors, cpuUs: cpu.userCPUTime + cpu.systemCPUTime })}\n`);
}

async function zeromqPublisher(file, seconds) {
  const zmq = require('zeromq');
  const sock = new zmq.Publisher({ sendHighWaterMark: 0, linger: 30_000 });
  await sock.bind(`ipc://${file}`);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const end = performance.now() + seconds * 1000;
  let n = 0;
  for (;;) {
    if ((n & 255) === 0 && performance.now() >= end) break;
    const msg = Buffer.alloc(SIZE);
    msg.writeUInt32LE(n, 0);
    await sock.send(msg);
    n++;
  }
  await sock.send(Buffer.alloc(END));
  const cpu = process.resourceUsage();
  process.stdout.write(`RESULT ${JSON.stringify({ published: n, cpuUs: cpu.userCPUTime + cpu.systemCPUTime })}\n`);
  // zeromq.js drops what is still queued when the process exits: the orchestrator ends
  // this process once every subscriber has had the end message.
  await new Promise(() => {});
}

function subscriberMain(kind, name) {
  if (kind === 'zeromq') return zeromqSubscriber(name);
  const podshm = require('..');
  let rx;
  if (kind === 'topic') rx = podshm.Topic.open(name).subscriber();
  else rx = podshm.Channel.open(name).receiver();
  process.stdout.write('READY\n');
  let next = 0;
  let count = 0;
  let errors = 0;
  let first = 0;
  let done = false;
  const handle = (bytes, offset, length) => {
    if (length === END) {
      done = true;
      return;
    }
    const n = bytes[offset] | (bytes[offset + 1] << 8) | (bytes[offset + 2] << 16) | (bytes[offset + 3] << 24);
    if (n !== next) errors++;
    next = n + 1;
    if (count++ === 0) first = performance.now();
  };
  while (!done) {
    if (rx.drain(handle) > 0) continue;
    const msg = rx.receiveViewSync();
    handle(msg, 0, msg.length);
  }
  const seconds = (performance.now() - first) / 1000;
  const cpu = process.resourceUsage();
  process.stdout.write(`RESULT ${JSON.stringify({ rate: count / seconds, count, errors, cpuUs: cpu.userCPUTime + cpu.systemCPUTime })}\n`);
}

function publisherMain(kind, names, seconds) {
  if (kind === 'zeromq') return zeromqPublisher(names[0], seconds);
  const podshm = require('..');
  const msg = new Uint8Array(SIZE);
  const send = [];
  if (kind === 'topic') {
    const pub = podshm.Topic.open(names[0]).publisher();
    send.push((m) => pub.publishSync(m));
  } else {
    for (const name of names) {
      const tx = podshm.Channel.open(name).sender();
      send.push((m) => tx.sendSync(m));
    }
  }
  const end = performance.now() + seconds * 1000;
  let n = 0;
  for (;;) {
    // The clock every 256 messages only.
    if ((n & 255) === 0 && performance.now() >= end) break;
    msg[0] = n;
    msg[1] = n >>> 8;
    msg[2] = n >>> 16;
    msg[3] = n >>> 24;
    for (const s of send) s(msg);
    n++;
  }
  for (const s of send) s(new Uint8Array(END));
  const cpu = process.resourceUsage();
  process.stdout.write(`RESULT ${JSON.stringify({ published: n, cpuUs: cpu.userCPUTime + cpu.systemCPUTime })}\n`);
}

function start(args) {
  const child = spawn(process.execPath, [__filename, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  let onReady;
  let onResult;
  const ready = new Promise((resolve) => (onReady = resolve));
  child.stdout.on('data', (d) => {
    out += d;
    if (out.includes('READY\n')) onReady();
    const line = out.split('\n').find((l) => l.startsWith('RESULT ') && out.includes(`${l}\n`));
    if (line) onResult(JSON.parse(line.slice(7)));
  });
  const result = new Promise((resolve, reject) => {
    onResult = resolve;
    child.once('exit', (code) => {
      if (code !== 0 && code !== null) reject(new Error(`${args.join(' ')} exited ${code}`));
    });
  });
  return { ready, result, child };
}

async function measure(kind, subscribers, seconds) {
  const podshm = require('..');
  const tag = `/podshm-bench-topic-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const objects = [];
  if (kind === 'topic') objects.push(podshm.Topic.create(tag, { capacity: 1 << 20, subscribers }));
  else if (kind === 'zeromq') {
    const file = path.join(os.tmpdir(), tag.slice(1));
    objects.push({ name: file, close() {}, unlink: () => fs.rmSync(file, { force: true }) });
  }
  else for (let i = 0; i < subscribers; i++) objects.push(podshm.Channel.create(`${tag}-${i}`, { capacity: 1 << 20 }));
  try {
    const subs = [];
    for (let i = 0; i < subscribers; i++) subs.push(start(['subscriber', kind, objects[kind === 'channels' ? i : 0].name]));
    await Promise.all(subs.map((s) => s.ready));
    const pub = start(['publisher', kind, String(seconds), ...objects.map((o) => o.name)]);
    const [p, ...r] = await Promise.all([pub.result, ...subs.map((s) => s.result)]);
    pub.child.kill();
    // zeromq: messages sent before a subscription arrived are not counted as lost.
    const errors = r.reduce((sum, x) => sum + x.errors + (x.count === p.published || kind === 'zeromq' ? 0 : 1), 0);
    const cpuUs = p.cpuUs + r.reduce((sum, x) => sum + x.cpuUs, 0);
    return { rate: Math.min(...r.map((x) => x.rate)), cpuPerMsg: cpuUs / p.published, errors };
  } finally {
    for (const o of objects) {
      o.close();
      o.unlink();
    }
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const seconds = Number(process.argv[2] ?? 2);
  const counts = process.argv.length > 3 ? process.argv.slice(3).map(Number) : [1, 2, 4];
  const reps = Number(process.env.TOPIC_BENCH_REPS ?? 3);
  const rows = [];
  const kinds = ['topic', 'channels', ...(process.env.TOPIC_BENCH_ZEROMQ === '0' ? [] : ['zeromq'])];
  for (const n of counts) for (const kind of kinds) rows.push({ kind, n, runs: [] });
  for (let rep = 0; rep < reps; rep++) for (const row of rows) row.runs.push(await measure(row.kind, row.n, seconds));
  console.log(`${os.cpus()[0]?.model} x${os.cpus().length}, Linux ${os.release()}, Node.js ${process.version}`);
  console.log(`node bench/topic.js ${process.argv.slice(2).join(' ')}`.trim() + ` (${reps} rounds)`);
  console.log('| subscribers | transport | msg/s per subscriber (min to max) | vs 1 subscriber | CPU µs/msg, all processes | errors |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  const one = {};
  for (const row of rows) {
    const rates = row.runs.map((r) => r.rate);
    const rate = median(rates);
    if (row.n === counts[0]) one[row.kind] = rate;
    const transport = row.kind === 'topic' ? 'one Topic' : row.kind === 'zeromq' ? 'zeromq PUB/SUB' : `${row.n} Channel${row.n > 1 ? 's' : ''}`;
    const fmt = (x) => `${(x / 1e6).toFixed(2)} M`;
    console.log(`| ${row.n} | ${transport} | ${fmt(rate)} (${fmt(Math.min(...rates))} to ${fmt(Math.max(...rates))}) | ${(rate / one[row.kind]).toFixed(2)} | ${median(row.runs.map((r) => r.cpuPerMsg)).toFixed(2)} | ${row.runs.reduce((s, r) => s + r.errors, 0)} |`);
  }
}

const [role, kind, ...rest] = process.argv.slice(2);
if (role === 'subscriber') subscriberMain(kind, rest[0]);
else if (role === 'publisher') publisherMain(kind, rest.slice(1), Number(rest[0]));
else main().catch((err) => {
  console.error(err);
  process.exit(1);
});

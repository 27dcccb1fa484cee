#!/usr/bin/env node
// Fan-out: one publisher process sending 64 B messages as fast as the slowest reader
// lets it to 1, 2 and 4 subscriber processes, through one Topic ('block' policy: each
// message written once; created with publishers 'multi', the default, and 'single', whose
// publisher takes no lock), through one Channel per subscriber (each message written
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
//
// `node bench/topic.js roundtrip [seconds] [subscribers]` (default 2 s, 4): round trips
// of 64 B and 4 MiB messages, both with no copy, through one Topic ('block', 16 MiB ring
// for both sizes: the smallest that carries 4 MiB, as the largest message is capacity /
// 2 - 16). The publisher reserves each message in the ring, writes its sequence number
// into its first and last 4 bytes (what else fills it is the application's work, not
// delivery), commits, and waits until every subscriber has acknowledged it; the
// subscribers take it as a view (receiveViewSync), check the length and both sequence
// numbers (a torn message would show) and acknowledge. A third row, for reference,
// copies the 4 MiB in (publishSync) and out (receiveSync). The acknowledgement is one
// shared counter word: each subscriber adds 1 to it and the one that completes the count
// wakes the publisher (one FutexWord wake per round trip), where a reply Channel would
// cost every subscriber a record and a possible wake, and a Channel has one receiver
// anyway.
// Figures: the median and 99th percentile round trip of each run, the medians of the
// rounds (rows alternated, fresh processes each run), the ratio of the 4 MiB median to
// the 64 B one of the same round, and the CPU µs per round trip of every process
// together, from attaching to the end message.
//
// `node bench/topic.js inprocess [messages]` (default 2 000 000; TOPIC_BENCH_REPS rounds,
// default 5): what publishing and receiving cost by themselves, with no other process
// and no wake-up. One process publishes `messages` 64 B messages with publishSync() and
// drains them with drain() after every 1024, on a 1 MiB ring: a Topic ('block', one
// subscriber) created with publishers 'multi' and 'single', and for reference a Channel
// (sendSync, drain). Each run is a fresh process (so every call site has seen one kind
// only), the kinds alternated; figures are ns per message: the time spent in the publish
// loops and in drain() (wall clock, hence on a loaded machine the median and range), and
// the process's CPU time over both.
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
  if (kind.startsWith('topic')) rx = podshm.Topic.open(name).subscriber();
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
  if (kind.startsWith('topic')) {
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

const ROUNDTRIP_CAPACITY = 1 << 24;
// The rows: no copy at 64 B and 4 MiB, and for reference 4 MiB copied in (publishSync) and out (receiveSync).
const ROUNDTRIP_ROWS = [
  { size: 64, copy: false },
  { size: 4 << 20, copy: false },
  { size: 4 << 20, copy: true },
];

// CPU time of this process so far: the round trip figures count only the run, not Node's start.
function cpuUs() {
  const cpu = process.resourceUsage();
  return cpu.userCPUTime + cpu.systemCPUTime;
}

// The acknowledgement counter: word 0 of a small segment, read as an Int32Array and waited on as a FutexWord.
function ackWord(name) {
  const podshm = require('..');
  const shm = podshm.SharedMemory.open(name);
  return { ack: new Int32Array(shm.buffer, 0, 1), word: new podshm.FutexWord(shm.mapping, 0) };
}

function roundtripSubscriber(name, ackName, subscribers, copy) {
  const podshm = require('..');
  const sub = podshm.Topic.open(name).subscriber();
  const { ack, word } = ackWord(ackName);
  const cpu0 = cpuUs();
  process.stdout.write('READY\n');
  let n = 0;
  let errors = 0;
  for (;;) {
    const msg = copy ? sub.receiveSync() : sub.receiveViewSync();
    const length = msg.length;
    if (length === END) break;
    const words = new Int32Array(msg.buffer, msg.byteOffset, length >> 2);
    if (words[0] !== n || words[words.length - 1] !== n) errors++;
    sub.release();
    n++;
    if (Atomics.add(ack, 0, 1) + 1 === n * subscribers) word.wake();
  }
  process.stdout.write(`RESULT ${JSON.stringify({ count: n, errors, cpuUs: cpuUs() - cpu0 })}\n`);
}

function roundtripPublisher(name, ackName, subscribers, size, copy, seconds) {
  const podshm = require('..');
  const pub = podshm.Topic.open(name).publisher();
  const { ack, word } = ackWord(ackName);
  const copied = new Uint8Array(copy ? size : 0);
  const times = [];
  const cpu0 = cpuUs();
  const end = performance.now() + seconds * 1000;
  let n = 0;
  for (let t0 = performance.now(); t0 < end; n++) {
    const r = copy ? null : pub.reserveSync(size);
    const bytes = r?.bytes ?? copied;
    const words = new Int32Array(bytes.buffer, bytes.byteOffset, size >> 2);
    words[0] = n;
    words[words.length - 1] = n;
    if (copy) pub.publishSync(copied);
    else r.commit();
    const target = (n + 1) * subscribers;
    for (let v = Atomics.load(ack, 0); v !== target; v = Atomics.load(ack, 0)) word.waitSync(v);
    const t1 = performance.now();
    times.push(t1 - t0);
    t0 = t1;
  }
  pub.publishSync(new Uint8Array(END));
  const cpu = cpuUs() - cpu0;
  times.sort((a, b) => a - b);
  const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))] * 1000;
  process.stdout.write(`RESULT ${JSON.stringify({ published: n, medianUs: at(0.5), p99Us: at(0.99), cpuUs: cpu })}\n`);
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
  if (kind.startsWith('topic')) objects.push(podshm.Topic.create(tag, { capacity: 1 << 20, subscribers, publishers: kind === 'topic-single' ? 'single' : 'multi' }));
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

async function measureRoundtrip({ size, copy }, subscribers, seconds) {
  const podshm = require('..');
  const tag = `/podshm-bench-topicrt-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const topic = podshm.Topic.create(tag, { capacity: ROUNDTRIP_CAPACITY, subscribers });
  const ack = podshm.SharedMemory.create(`${tag}-ack`, 4096);
  try {
    const subs = [];
    for (let i = 0; i < subscribers; i++) subs.push(start(['rtsubscriber', topic.name, ack.name, String(subscribers), String(copy)]));
    await Promise.all(subs.map((s) => s.ready));
    const pub = start(['rtpublisher', topic.name, ack.name, String(subscribers), String(size), String(copy), String(seconds)]);
    const [p, ...r] = await Promise.all([pub.result, ...subs.map((s) => s.result)]);
    const errors = r.reduce((sum, x) => sum + x.errors + (x.count === p.published ? 0 : 1), 0);
    const cpuUs = p.cpuUs + r.reduce((sum, x) => sum + x.cpuUs, 0);
    return { medianUs: p.medianUs, p99Us: p.p99Us, roundtrips: p.published, cpuPerRoundtrip: cpuUs / p.published, errors };
  } finally {
    for (const o of [topic, ack]) {
      o.close();
      o.unlink();
    }
  }
}

async function roundtripMain(seconds, subscribers) {
  const reps = Number(process.env.TOPIC_BENCH_REPS ?? 3);
  const rows = ROUNDTRIP_ROWS.map((r) => ({ ...r, runs: [] }));
  for (let rep = 0; rep < reps; rep++) for (const row of rows) row.runs.push(await measureRoundtrip(row, subscribers, seconds));
  console.log(`${os.cpus()[0]?.model} x${os.cpus().length}, Linux ${os.release()}, Node.js ${process.version}, load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`node bench/topic.js ${process.argv.slice(2).join(' ')}`.trim() + ` (${reps} rounds)`);
  console.log('| message | subscribers | round trip µs, median (min to max of the rounds) | 99th percentile µs | vs 64 B of the same round (min to max) | round trips per run | CPU µs per round trip, all processes | errors |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const row of rows) {
    const m = row.runs.map((r) => r.medianUs);
    // Each round's runs follow one another: the ratio within a round sees the same load.
    const ratios = row.runs.map((r, i) => r.medianUs / rows[0].runs[i].medianUs);
    const label = (row.size >= 1 << 20 ? `${row.size / (1 << 20)} MiB` : `${row.size} B`) + (row.copy ? ', copied (publishSync, receiveSync)' : ', no copy (reserveSync, receiveViewSync)');
    console.log(`| ${label} | ${subscribers} | ${median(m).toFixed(1)} (${Math.min(...m).toFixed(1)} to ${Math.max(...m).toFixed(1)}) | ${median(row.runs.map((r) => r.p99Us)).toFixed(0)} | ${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)} to ${Math.max(...ratios).toFixed(2)}) | ${median(row.runs.map((r) => r.roundtrips))} | ${median(row.runs.map((r) => r.cpuPerRoundtrip)).toFixed(1)} | ${row.runs.reduce((s, r) => s + r.errors, 0)} |`);
  }
}

async function main() {
  const seconds = Number(process.argv[2] ?? 2);
  const counts = process.argv.length > 3 ? process.argv.slice(3).map(Number) : [1, 2, 4];
  const reps = Number(process.env.TOPIC_BENCH_REPS ?? 3);
  const rows = [];
  const kinds = ['topic', 'topic-single', 'channels', ...(process.env.TOPIC_BENCH_ZEROMQ === '0' ? [] : ['zeromq'])];
  for (const n of counts) for (const kind of kinds) rows.push({ kind, n, runs: [] });
  for (let rep = 0; rep < reps; rep++) for (const row of rows) row.runs.push(await measure(row.kind, row.n, seconds));
  console.log(`${os.cpus()[0]?.model} x${os.cpus().length}, Linux ${os.release()}, Node.js ${process.version}, load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`node bench/topic.js ${process.argv.slice(2).join(' ')}`.trim() + ` (${reps} rounds)`);
  console.log('| subscribers | transport | msg/s per subscriber (min to max) | vs 1 subscriber | CPU µs/msg, all processes | errors |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  const one = {};
  for (const row of rows) {
    const rates = row.runs.map((r) => r.rate);
    const rate = median(rates);
    if (row.n === counts[0]) one[row.kind] = rate;
    const transport = { topic: 'one Topic', 'topic-single': "one Topic, publishers 'single'", zeromq: 'zeromq PUB/SUB' }[row.kind] ?? `${row.n} Channel${row.n > 1 ? 's' : ''}`;
    const fmt = (x) => `${(x / 1e6).toFixed(2)} M`;
    console.log(`| ${row.n} | ${transport} | ${fmt(rate)} (${fmt(Math.min(...rates))} to ${fmt(Math.max(...rates))}) | ${(rate / one[row.kind]).toFixed(2)} | ${median(row.runs.map((r) => r.cpuPerMsg)).toFixed(2)} | ${row.runs.reduce((s, r) => s + r.errors, 0)} |`);
  }
}

function inprocessRun(kind, messages) {
  const podshm = require('..');
  const name = `/podshm-bench-topicinproc-${process.pid}`;
  let obj;
  let send;
  let rx;
  if (kind === 'channel') {
    obj = podshm.Channel.create(name, { capacity: 1 << 20 });
    const tx = obj.sender();
    rx = obj.receiver();
    send = (m) => tx.sendSync(m);
  } else {
    obj = podshm.Topic.create(name, { capacity: 1 << 20, subscribers: 1, publishers: kind === 'topic-single' ? 'single' : 'multi' });
    const pub = obj.publisher();
    rx = obj.subscriber();
    send = (m) => pub.publishSync(m);
  }
  try {
    const msg = new Uint8Array(SIZE);
    let received = 0;
    const handle = () => {
      received++;
    };
    let publishNs = 0n;
    let drainNs = 0n;
    const cpu0 = cpuUs();
    for (let n = 0; n < messages; n += 1024) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < 1024; i++) send(msg);
      const t1 = process.hrtime.bigint();
      rx.drain(handle);
      drainNs += process.hrtime.bigint() - t1;
      publishNs += t1 - t0;
    }
    const count = Math.ceil(messages / 1024) * 1024;
    const cpu = cpuUs() - cpu0;
    if (received !== count) throw new Error(`received ${received} of ${count}`);
    process.stdout.write(`RESULT ${JSON.stringify({ publishNs: Number(publishNs) / count, drainNs: Number(drainNs) / count, cpuNs: (cpu * 1000) / count })}\n`);
  } finally {
    obj.close();
    obj.unlink();
  }
}

async function inprocessMain(messages) {
  const reps = Number(process.env.TOPIC_BENCH_REPS ?? 5);
  const rows = ['topic', 'topic-single', 'channel'].map((kind) => ({ kind, runs: [] }));
  const load = [os.loadavg()[0]];
  for (let rep = 0; rep < reps; rep++) {
    for (const row of rows) {
      const run = start(['inprocrun', row.kind, String(messages)]);
      row.runs.push(await run.result);
      load.push(os.loadavg()[0]);
    }
  }
  console.log(`${os.cpus()[0]?.model} x${os.cpus().length}, Linux ${os.release()}, Node.js ${process.version}, load average (1 min) ${Math.min(...load).toFixed(2)} to ${Math.max(...load).toFixed(2)} during the run`);
  console.log(`node bench/topic.js ${process.argv.slice(2).join(' ')}`.trim() + ` (${reps} rounds)`);
  console.log('| 64 B messages, one process | publish ns/msg, median (min to max) | drain() ns/msg, median (min to max) | CPU ns/msg, median (min to max) |');
  console.log('| --- | --- | --- | --- |');
  const fmt = (xs) => `${median(xs).toFixed(0)} (${Math.min(...xs).toFixed(0)} to ${Math.max(...xs).toFixed(0)})`;
  const label = { topic: "Topic, publishers 'multi' (publishSync)", 'topic-single': "Topic, publishers 'single' (publishSync)", channel: 'Channel (sendSync)' };
  for (const row of rows) {
    console.log(`| ${label[row.kind]} | ${fmt(row.runs.map((r) => r.publishNs))} | ${fmt(row.runs.map((r) => r.drainNs))} | ${fmt(row.runs.map((r) => r.cpuNs))} |`);
  }
}

const [role, kind, ...rest] = process.argv.slice(2);
if (role === 'subscriber') subscriberMain(kind, rest[0]);
else if (role === 'publisher') publisherMain(kind, rest.slice(1), Number(rest[0]));
else if (role === 'rtsubscriber') roundtripSubscriber(kind, rest[0], Number(rest[1]), rest[2] === 'true');
else if (role === 'rtpublisher') roundtripPublisher(kind, rest[0], Number(rest[1]), Number(rest[2]), rest[3] === 'true', Number(rest[4]));
else if (role === 'inprocrun') inprocessRun(kind, Number(rest[0]));
else (role === 'roundtrip' ? roundtripMain(Number(kind ?? 2), Number(rest[0] ?? 4)) : role === 'inprocess' ? inprocessMain(Number(kind ?? 2_000_000)) : main()).catch((err) => {
  console.error(err);
  process.exit(1);
});

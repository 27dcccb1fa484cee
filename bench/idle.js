#!/usr/bin/env node
// What waiting costs (issue 26): CPU and wake-ups per second of a process whose event
// loop holds nothing but N waiters on something that never comes, beside a bare Node
// process. The peers live in a second process (the holder) and do nothing, so each
// waiter has a live peer to watch: N Channel receivers (`wait: 'block'`, receive) with
// a sender on each channel; N senders waiting for room (send) on full channels whose
// receiver reads nothing; Semaphore.acquire (nobody releases), Mutex.lock (the holder
// keeps the lock), MessageQueue.receive (nobody sends); Topic subscribers (receive, a
// publisher that publishes nothing) and publishers waiting for room (a subscriber that
// reads nothing); Services with no call, and Clients with a call in flight to a
// service whose handler never answers. Standalone: `node bench/idle.js [seconds]
// [receiver counts...]` (given counts, only channel receivers are measured).
// IDLE_SETTLE_MS shortens the settling wait (30 s) for a quick look; IDLE_ONLY=kind,...
// measures only those kinds (after the bare process); IDLE_STRACE=1 also counts the
// system calls of every thread over the window with `strace -f -c` (a waiting process
// makes none).
//
// CPU is read from /proc/<pid>/task/*/schedstat (nanoseconds on a CPU, every thread
// of the process, so the waiter threads count too), wake-ups from the voluntary and
// involuntary context switches of /proc/<pid>/task/*/status, both over the same window
// after the process said it was ready and has settled.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const seconds = Number(process.argv[2] ?? 10);
const counts = process.argv.length > 3 ? process.argv.slice(3).map(Number) : [1, 10, 100];
// The other waiters, 100 of each (10 queues: mqueue's queues_max is 256 per namespace;
// 10 services and clients: each client has a ring of its own, each service one per
// client). 200 semaphores: more distinct words than one futex_waitv takes (128).
const others = [
  ['senders', 100],
  ['semaphores', 100],
  ['semaphores', 200],
  ['mutexes', 100],
  ['queues', 10],
  ['subscribers', 100],
  ['publishers', 100],
  ['services', 10],
  ['clients', 10],
];
const only = process.env.IDLE_ONLY?.split(',');
const pkg = path.join(__dirname, '..');

// What a holder makes and keeps (the live peer), and what the measured process waits on.
const kinds = {
  receivers: {
    hold: ({ Channel }, name) => {
      const ch = Channel.create(name, { capacity: 4096, wait: 'block' });
      ch.sender();
      return () => ch.unlink();
    },
    wait: ({ Channel }, name) => Channel.open(name).receiver().receive(),
  },
  senders: {
    hold: ({ Channel }, name) => {
      const ch = Channel.create(name, { capacity: 4096, wait: 'block' });
      ch.receiver();
      return () => ch.unlink();
    },
    wait: ({ Channel }, name) => {
      const tx = Channel.open(name).sender();
      while (tx.trySend(new Uint8Array(64)));
      return tx.send(new Uint8Array(64));
    },
  },
  semaphores: {
    hold: ({ Semaphore }, name) => {
      const sem = Semaphore.create(name, { initial: 0 });
      return () => sem.unlink();
    },
    wait: ({ Semaphore }, name) => Semaphore.open(name).acquire(),
  },
  mutexes: {
    hold: ({ Mutex }, name) => {
      const m = Mutex.create(name);
      m.lockSync();
      return () => m.unlink();
    },
    wait: ({ Mutex }, name) => Mutex.open(name).lock(),
  },
  queues: {
    hold: ({ MessageQueue }, name) => {
      MessageQueue.create(name, { maxMessages: 1, messageSize: 64 }).close();
      return () => MessageQueue.unlink(name);
    },
    wait: ({ MessageQueue }, name) => MessageQueue.open(name, { readOnly: true }).receive(),
  },
  subscribers: {
    hold: ({ Topic }, name) => {
      const topic = Topic.create(name, { capacity: 4096, subscribers: 1, wait: 'block' });
      topic.publisher();
      return () => topic.unlink();
    },
    wait: ({ Topic }, name) => Topic.open(name).subscriber().receive(),
  },
  publishers: {
    hold: ({ Topic }, name) => {
      const topic = Topic.create(name, { capacity: 4096, subscribers: 1, wait: 'block' });
      topic.subscriber();
      return () => topic.unlink();
    },
    wait: ({ Topic }, name) => {
      const pub = Topic.open(name).publisher();
      while (pub.tryPublish(new Uint8Array(64)));
      return pub.publish(new Uint8Array(64));
    },
  },
  services: {
    // The measured process serves (and its close removes the ring); nobody calls.
    hold: () => () => {},
    wait: ({ Service }, name, cleanups) => {
      const service = Service.serve(name, () => new Uint8Array(0));
      cleanups.push(() => service.close());
      return new Promise(() => {});
    },
  },
  clients: {
    hold: ({ Service }, name) => {
      const service = Service.serve(name, () => new Promise(() => {}));
      return () => service.close();
    },
    wait: ({ Client }, name, cleanups) => {
      const client = Client.connect(name);
      cleanups.push(() => client.close());
      return client.call(new Uint8Array(8));
    },
  },
};

function role(kind, n, prefix) {
  const cleanups = [];
  // stdin is a pipe from the parent that never carries data: it keeps every role alive
  // the same way, so the bare process holds what the others hold, and its end ends them.
  process.stdin.resume();
  process.stdin.on('end', () => {
    cleanups.forEach((f) => f());
    process.exit(0);
  });
  const podshm = require(pkg);
  const [what, holding] = kind.split(':');
  for (let i = 0; i < n; i++) {
    const name = `${prefix}-${i}`;
    if (holding) cleanups.push(kinds[what].hold(podshm, name));
    else kinds[what].wait(podshm, name, cleanups).then(() => process.exit(3), (err) => (console.error(err), process.exit(4)));
  }
  process.send('ready');
}

function start(kind, n, prefix) {
  const child = spawn(process.execPath, [__filename, '--role', kind, String(n), prefix], { stdio: ['pipe', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`${kind} exited with ${code} before it was ready`)));
  });
}

function sample(pid) {
  let ns = 0;
  let switches = 0;
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      const status = fs.readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      for (const m of status.matchAll(/^(?:non)?voluntary_ctxt_switches:\s+(\d+)/gm)) switches += Number(m[1]);
    } catch {
      // a thread that ended between the listing and the read
    }
  }
  return { ns, switches, threads: fs.readdirSync(`/proc/${pid}/task`).length };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// strace -f -c attached to `pid` until stop(), which resolves with its count of calls.
async function strace(pid) {
  const child = spawn('strace', ['-f', '-c', '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let text = '';
  child.stderr.on('data', (d) => (text += d));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  // Attached to every thread once it says so for the process.
  while (!/attached/.test(text)) {
    if (child.exitCode !== null) throw new Error(`strace: ${text}`);
    await sleep(50);
  }
  return async () => {
    child.kill('SIGINT');
    await exited;
    const total = text.split('\n').find((l) => / total$/.test(l));
    return total === undefined ? 0 : Number(total.trim().split(/\s+/)[3]);
  };
}

// V8 trims its heap in a few rounds during the first 20 s or so after a process goes
// quiet (its memory reducer, on the main thread and V8's worker threads):
// waiting that out measures the steady state, not the start.
const SETTLE_MS = Number(process.env.IDLE_SETTLE_MS ?? 30_000);

async function measure(kind, n) {
  const prefix = `podshm-idle-${process.pid}-${kind}-${n}`;
  const holder = kind === 'bare' ? null : await start(`${kind}:hold`, n, prefix);
  const proc = await start(kind === 'bare' ? 'receivers' : kind, kind === 'bare' ? 0 : n, prefix);
  try {
    await sleep(SETTLE_MS);
    const stopTrace = process.env.IDLE_STRACE ? await strace(proc.pid) : null;
    const a = sample(proc.pid);
    const t0 = process.hrtime.bigint();
    await sleep(seconds * 1000);
    const b = sample(proc.pid);
    const wall = Number(process.hrtime.bigint() - t0);
    const syscalls = stopTrace ? await stopTrace() : null;
    if (proc.exitCode !== null) throw new Error(`${kind} ended during the window`);
    return { cpu: (100 * (b.ns - a.ns)) / wall, wakeups: ((b.switches - a.switches) * 1e9) / wall, threads: b.threads, syscalls };
  } finally {
    proc.stdin.end();
    await new Promise((r) => proc.exitCode === null ? proc.once('exit', r) : r());
    if (holder) {
      holder.stdin.end();
      await new Promise((r) => holder.exitCode === null ? holder.once('exit', r) : r());
    }
  }
}

const labels = { receivers: 'channel receivers', senders: 'channel senders', subscribers: 'topic subscribers', publishers: 'topic publishers', clients: 'clients (a call each)' };

async function main() {
  console.log(`idle cost over ${seconds} s, node ${process.version}, ${process.platform} ${process.arch}`);
  console.log(`process                          CPU %    wake-ups/s  threads${process.env.IDLE_STRACE ? '  system calls' : ''}`);
  const row = (label, r) => console.log(`${label.padEnd(32)} ${r.cpu.toFixed(3).padStart(6)}  ${r.wakeups.toFixed(1).padStart(10)}  ${String(r.threads).padStart(7)}${r.syscalls === null ? '' : String(r.syscalls).padStart(14)}`);
  const bare = await measure('bare', 0);
  row('bare node', bare);
  const rows = [...counts.map((n) => ['receivers', n]), ...(process.argv.length > 3 ? [] : others)].filter(([kind]) => !only || only.includes(kind));
  for (const [kind, n] of rows) {
    const r = await measure(kind, n);
    row(`${n} waiting ${labels[kind] ?? kind}`, r);
    console.log(`${''.padEnd(32)} ${(r.cpu - bare.cpu).toFixed(3).padStart(6)}  ${(r.wakeups - bare.wakeups).toFixed(1).padStart(10)}  above bare`);
  }
}

// Every role in this one file: `idle.js --role KIND N PREFIX`.
if (process.argv[2] === '--role') role(process.argv[3], Number(process.argv[4]), process.argv[5]);
else main();

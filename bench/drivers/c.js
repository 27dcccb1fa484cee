// The C programs in bench/c, the machine's floor: each runs both sides itself (fork) or,
// for the message queue, as two processes started here. Rows give the program, its
// arguments with {n} for the count (sized from the trial's seconds and `perSecond`, a
// rough rate; {rate} and {size} are the trial's) and what it prints: ns per operation
// (and a round trip's percentiles) or messages per second. Their CPU is that of every
// process of the program over its whole run, warm-up included, unless the program prints
// its own figure (socket_rate: the echo's, as the rate rows count theirs).
'use strict';
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const BIN = path.join(__dirname, '..', 'c', 'bin');
const built = new Map();

function problem() {
  try {
    execFileSync('cc', ['--version'], { stdio: 'ignore' });
    return null;
  } catch {
    return 'no C compiler (cc) here';
  }
}

/** Compiles bench/c/<name>.c once per run (gcc -O2) and returns the binary's path. */
function program(name) {
  if (!built.has(name)) {
    fs.mkdirSync(BIN, { recursive: true });
    const out = path.join(BIN, name);
    execFileSync('cc', ['-O2', '-std=gnu11', '-o', out, path.join(__dirname, '..', 'c', `${name}.c`), '-lpthread', '-lrt'], { stdio: 'inherit' });
    built.set(name, out);
  }
  return built.get(name);
}

const seconds = (m, s) => Number(m) * 60 + Number(s);

/**
 * Runs a program; resolves with the figure it prints (if any), the p50, p99 and p99.9 on
 * the next line (if any: bench/c/latency.h), the CPU µs per message on the third (if
 * any) and its CPU µs. It runs under sh,
 * whose `times` then prints the user and system time of its children: the program and,
 * since each program waits for what it forks, every process it forked.
 */
function capture(file, args) {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', '"$0" "$@" && times', file, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const lines = out.trim().split('\n');
      const t = lines.at(-1).match(/^(\d+)m([\d.]+)s (\d+)m([\d.]+)s$/);
      if (code !== 0 || !t) reject(new Error(`${path.basename(file)} ${args.join(' ')} exited ${code}`));
      else {
        const [figure, pcts, perMsg] = lines.slice(0, -2);
        const cpuUs = (seconds(t[1], t[2]) + seconds(t[3], t[4])) * 1e6;
        resolve({ value: Number(figure), percentiles: pcts?.split(' ').map(Number), cpuUs, cpuUsPerMsg: perMsg === undefined ? undefined : Number(perMsg) });
      }
    });
  });
}

// The queue pair mq.c's echo and ping use, made and removed here.
async function messageQueues(args, size) {
  const { MessageQueue } = require('podshm');
  const names = [1, 2].map((i) => `/podshm-bench-cmq-${process.pid}-${i}`);
  for (const n of names) MessageQueue.create(n, { exclusive: true, maxMessages: 10, messageSize: size }).close();
  try {
    const file = program('mq');
    const [echo, ping] = [args.echo(names), args.ping(names)];
    const other = capture(file, echo);
    const mine = await capture(file, ping);
    return { ...mine, cpuUs: mine.cpuUs + (await other).cpuUs };
  } finally {
    for (const n of names) MessageQueue.unlink(n);
  }
}

async function measure(kind, p, v) {
  const n = String(Math.max(1000, Math.round(v.perSecond * (p.seconds + p.warmSeconds))));
  const fill = (args) => args.map((a) => String(a).replace('{n}', n).replace('{size}', String(p.size)).replace('{rate}', String(p.rate)));
  const { value, percentiles, cpuUs, cpuUsPerMsg } = v.program === 'mq'
    ? await messageQueues({ echo: (q) => fill(['echo', ...q, '{n}']), ping: (q) => fill(['ping', ...q, '{n}', '{size}']) }, p.size)
    : await capture(program(v.program), fill(v.args));
  // A micro row's figure is a call in one process; the others' CPU is per message.
  const cpu = kind === 'micro' ? {} : { cpuUsPerMsg: cpuUsPerMsg ?? cpuUs / Number(n) };
  const pcts = percentiles ? { p50: percentiles[0], p99: percentiles[1], p999: percentiles[2] } : {};
  // A round trip's rate, as the other rows give it; no bytes/s: most floors carry no payload.
  // A rate row's figures are its percentiles alone.
  const figure = kind === 'rate' ? {} : v.unit !== 'ns' ? { msgPerSec: value } : kind === 'rtt' ? { ns: value, msgPerSec: 1e9 / value } : { ns: value };
  return { ...figure, ...pcts, ...cpu };
}

module.exports = { problem, direct: true, measure };

#!/usr/bin/env node
// Where a round trip at a fixed rate spends its time, leg by leg: a requester sends 64 B
// at a fixed rate (spinning until each is due, as the suite's rate trial does) to an echo
// in another process, which answers it. Both stamp the
// message with CLOCK_MONOTONIC (process.hrtime, the same clock in every process): when
// the request is sent, when the echo's code has it, when the echo sends the answer, when
// the requester's code has it. It prints, per way of receiving, the median and the 90th
// percentile of each leg, the time the requester's send call itself took (a wake-up
// is a system call inside it), and the echo's CPU per message. The suite's figure, from when each request was due, adds
// the requester's own lateness to these (docs/performance.md, "Latency at a fixed rate").
//   node bench/legs.js [--rate N] [--count N] [--loop sync,view,for-await]
// sync: blocking receive and send on both sides; view: receiveView() on the event loop;
// for-await: `for await` (copies) on the event loop. The first quarter is warm-up.
'use strict';
const { spawn } = require('node:child_process');
const { parseArgs } = require('node:util');
const { Channel } = require('podshm');

const hr = () => process.hrtime.bigint();
// Offsets of the stamps in a message.
const SENT = 8;
const HEARD = 16;
const ANSWERED = 24;

async function echo(names, loop, count) {
  const [ask, answer] = names.map((n) => Channel.open(n));
  const rx = ask.receiver();
  const tx = answer.sender();
  const out = new Uint8Array(64);
  const dv = new DataView(out.buffer);
  let n = 0;
  let cpu0 = null;
  const reply = (m) => {
    if (++n === count >> 2) cpu0 = process.cpuUsage();
    const heard = hr();
    out.set(m);
    dv.setBigInt64(HEARD, heard, true);
    dv.setBigInt64(ANSWERED, hr(), true);
    return out;
  };
  if (loop === 'sync') {
    for (let m = rx.receiveViewSync(); m.length > 0; m = rx.receiveViewSync()) tx.sendSync(reply(m));
  } else if (loop === 'view') {
    for (let m = await rx.receiveView(); m.length > 0; m = await rx.receiveView()) if (!tx.trySend(reply(m))) await tx.send(out);
  } else {
    for await (const m of rx) {
      if (m.length === 0) break;
      if (!tx.trySend(reply(m))) await tx.send(out);
    }
  }
  // The answer to the empty message: this side's CPU per message since the warm-up.
  const cpu = process.cpuUsage(cpu0);
  tx.sendSync(new Float64Array([(cpu.user + cpu.system) / (n - (count >> 2))]));
  ask.close();
  answer.close();
}

async function requester(names, loop, rate, count) {
  const [ask, answer] = names.map((n) => Channel.open(n));
  const tx = ask.sender();
  const rx = answer.receiver();
  const msg = new Uint8Array(64);
  const dv = new DataView(msg.buffer);
  const legs = { there: [], echo: [], back: [], send: [] };
  const record = (m) => {
    const back = hr();
    const v = new DataView(m.buffer, m.byteOffset, m.length);
    const heard = v.getBigInt64(HEARD, true);
    const answered = v.getBigInt64(ANSWERED, true);
    legs.there.push(Number(heard - v.getBigInt64(SENT, true)));
    legs.echo.push(Number(answered - heard));
    legs.back.push(Number(back - answered));
  };
  let answered = null;
  let heard = (m) => (record(m), answered());
  if (loop === 'view') (async () => { for (;;) { const m = await rx.receiveView(); heard(m); } })();
  if (loop === 'for-await') (async () => { for await (const m of rx) heard(m); })();
  const interval = 1e9 / rate;
  const t0 = hr() + 5_000_000n;
  for (let i = 0; i < count; i++) {
    const due = t0 + BigInt(Math.round(i * interval));
    while (hr() < due);
    const back = loop === 'sync' ? null : new Promise((resolve) => (answered = resolve));
    const sent = hr();
    dv.setBigInt64(SENT, sent, true);
    if (loop === 'sync') tx.sendSync(msg);
    else if (!tx.trySend(msg)) await tx.send(msg);
    legs.send.push(Number(hr() - sent));
    if (loop === 'sync') record(rx.receiveViewSync());
    else await back;
  }
  const last = loop === 'sync' ? null : new Promise((resolve) => (heard = resolve));
  tx.sendSync(new Uint8Array(0));
  const echoCpu = new Float64Array((last === null ? rx.receiveSync() : await last).slice().buffer)[0];
  const warm = count >> 2;
  const at = (xs, q) => (xs.slice(warm).sort((a, b) => a - b)[Math.floor((xs.length - warm) * q)] / 1000).toFixed(1);
  const leg = (name, xs) => `${name} ${at(xs, 0.5)} (p90 ${at(xs, 0.9)})`;
  console.log(`${loop.padEnd(9)} µs: ${leg('to the echo', legs.there)} | ${leg('echo', legs.echo)} | ${leg('back', legs.back)} | ${leg('send call', legs.send)} | echo's CPU ${echoCpu.toFixed(1)} per message`);
  process.exit(0);
}

function run(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [__filename, ...args], { stdio: 'inherit' });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${args[0]} exited with ${code}`))));
  });
}

async function main() {
  const { values: o } = parseArgs({ options: { rate: { type: 'string', default: '10000' }, count: { type: 'string', default: '20000' }, loop: { type: 'string', default: 'sync,view,for-await' }, role: { type: 'string' }, names: { type: 'string' } } });
  if (o.role === 'echo') return echo(o.names.split(','), o.loop, Number(o.count));
  if (o.role === 'requester') return requester(o.names.split(','), o.loop, Number(o.rate), Number(o.count));
  console.log(`# legs of a 64 B round trip at ${Number(o.rate) / 1000} k msg/s, 'block', Node ${process.version}`);
  for (const loop of o.loop.split(',')) {
    if (!['sync', 'view', 'for-await'].includes(loop)) throw new Error(`unknown loop ${loop}: sync, view or for-await`);
    const chans = [0, 1].map((i) => Channel.create(`/podshm-legs-${process.pid}-${i}`, { wait: 'block' }));
    const names = chans.map((c) => c.name).join(',');
    try {
      await Promise.all([run(['--role', 'echo', '--names', names, '--loop', loop, '--count', o.count]), run(['--role', 'requester', '--names', names, '--loop', loop, '--rate', o.rate, '--count', o.count])]);
    } finally {
      for (const c of chans) (c.close(), c.unlink());
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

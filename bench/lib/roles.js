// The roles a peer process plays, written once for every transport. A driver hands a role
// an endpoint, either synchronous ({ send, receive, drain?, sendMany? }: the calls block
// or spin) or asynchronous ({ async: true, send, onMessage }: on the event loop, `send`
// returns a promise only when it has to wait). Messages are (bytes, offset, length); an
// empty message ends an exchange. Every role reports CPU over its measured phase only.
'use strict';
const { performance } = require('node:perf_hooks');
const { usage, since, histogram, percentiles, report, ready, started } = require('./measure-child');

const STOP = Symbol('stop');
const EMPTY = new Uint8Array(0);
const now = () => performance.now();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let closing = false;
/** For a driver's receive loop: an error ends the process, unless the role is closing. */
function fail(err) {
  if (closing) return;
  console.error(err);
  process.exit(1);
}
const close = (ep) => {
  closing = true;
  return ep.close?.();
};

/**
 * Starts measuring once `warmSeconds` have passed since the first tick(). A run that ends
 * before then (everything arrived at once) is measured from its first tick instead.
 */
function phase(warmSeconds) {
  let first = null;
  let snap = null;
  return {
    tick() {
      if (snap) return;
      const t = now();
      if (first === null) first = { t, u: usage() };
      else if (t - first.t >= warmSeconds * 1000) snap = { t, u: usage() };
    },
    get measuring() {
      return snap !== null;
    },
    /** CPU and ms of the measured phase, and whether it is the fallback (from the first tick). */
    end() {
      const from = snap ?? first ?? { t: now(), u: usage() };
      return { ...since(from.u), ms: now() - from.t, whole: snap === null };
    },
  };
}

// Sequence number in bytes 0-3, producer in byte 4: the sink checks order per producer.
function stamp(msg, seq, id) {
  msg[0] = seq;
  msg[1] = seq >> 8;
  msg[2] = seq >> 16;
  msg[3] = seq >> 24;
  if (msg.length > 4) msg[4] = id;
}

/** Answers each message with itself until the empty one. */
async function echo(ep, p) {
  const ph = phase(p.warmSeconds);
  let n = 0;
  ready();
  if (ep.async) {
    await new Promise((resolve) =>
      ep.onMessage((b, o, l) => {
        if (l === 0) return resolve(), STOP;
        if ((++n & 7) === 0) ph.tick();
        return ep.send(o === 0 && l === b.length ? b : b.subarray(o, o + l));
      }),
    );
  } else {
    for (;;) {
      const m = ep.receive();
      if (m.length === 0) break;
      ep.send(m);
      if ((++n & 7) === 0) ph.tick();
    }
  }
  const { cpuUs, ms } = ph.end();
  report({ role: 'server', cpuUs, seconds: ms / 1000 });
  await close(ep);
}

/** Round trips back to back: mean, percentiles and this side's CPU. */
async function ping(ep, p) {
  const msg = new Uint8Array(p.size);
  const h = histogram();
  let i = 0;
  let answer = null;
  if (ep.async) ep.onMessage((b, o) => (answer(b[o]), undefined));
  const once = ep.async
    ? async () => {
        msg[0] = i;
        const back = new Promise((resolve) => (answer = resolve));
        const w = ep.send(msg);
        if (w) await w;
        const first = await back;
        if (!ep.noPayload && first !== (i & 255)) throw new Error('an echo returned the wrong message');
        i++;
      }
    : () => {
        msg[0] = i;
        ep.send(msg);
        const m = ep.receive();
        if (!ep.noPayload && m[0] !== (i & 255)) throw new Error('an echo returned the wrong message');
        i++;
      };
  await started();
  // Two copies of one loop: an `await` on the synchronous path would cost more than a
  // spinning round trip.
  const warmEnd = now() + p.warmSeconds * 1000;
  let u0;
  let t0;
  let n = 0;
  if (ep.async) {
    while (now() < warmEnd) await once();
    u0 = usage();
    t0 = now();
    const limit = t0 + p.seconds * 1000;
    for (let t = t0; t < limit; n++) {
      await once();
      const t1 = now();
      h.recordValue(Math.max(1, Math.round((t1 - t) * 1e6)));
      t = t1;
    }
  } else {
    while (now() < warmEnd) once();
    u0 = usage();
    t0 = now();
    const limit = t0 + p.seconds * 1000;
    for (let t = t0; t < limit; n++) {
      once();
      const t1 = now();
      h.recordValue(Math.max(1, Math.round((t1 - t) * 1e6)));
      t = t1;
    }
  }
  const ms = now() - t0;
  const cpu = since(u0);
  await ep.send(EMPTY);
  report({ role: 'client', ops: n, ns: (ms * 1e6) / n, cpuUs: cpu.cpuUs, ...percentiles(h) });
  await close(ep);
}

/**
 * Requests at a fixed offered rate. Each latency runs from when its request was due,
 * not from when it was sent, so a stall counts against every request it delayed
 * (HdrHistogram's correction for coordinated omission, by construction). The measured
 * requests keep a schedule of their own, starting when the warm-up ends: a backlog left
 * by the warm-up (code not yet compiled) is not counted against them.
 */
async function rate(ep, p) {
  const msg = new Uint8Array(p.size);
  const interval = 1000 / p.rate;
  const h = histogram();
  let answer = null;
  if (ep.async) ep.onMessage(() => (answer(), undefined));
  const total = Math.ceil((p.warmSeconds + p.seconds) * p.rate);
  const warm = Math.ceil(p.warmSeconds * p.rate);
  await started();
  let t0 = now() + 5;
  let u0 = null;
  for (let i = 0; i < total; i++) {
    if (i === warm) {
      u0 = usage();
      t0 = now() + interval - warm * interval;
    }
    const due = t0 + i * interval;
    if (ep.async) {
      if (due - now() > 2) await sleep(due - now() - 1.5);
      // Nothing is outstanding until the send: spin without turning the event loop,
      // whose turns (a promise and an immediate each) would make this process collect
      // its young generation dozens of times a second, whatever the transport.
      while (now() < due);
      const back = new Promise((resolve) => (answer = resolve));
      const w = ep.send(msg);
      if (w) await w;
      await back;
    } else {
      while (now() < due);
      ep.send(msg);
      ep.receive();
    }
    if (i >= warm) h.recordValue(Math.max(1, Math.round((now() - due) * 1e6)));
  }
  const cpu = since(u0);
  await ep.send(EMPTY);
  report({ role: 'client', ops: total - warm, clientCpuUs: cpu.cpuUs, ...percentiles(h) });
  await close(ep);
}

/**
 * Calls with `p.inflight` outstanding at all times: each answer starts the next call, so
 * the window stays full until the measured time is up; then the last ones drain. Counts
 * the answers that arrive within the measured time, and this side's CPU meanwhile.
 */
async function window(ep, p) {
  if (!ep.async) throw new Error('calls in flight need an endpoint on the event loop');
  const msg = new Uint8Array(p.size);
  let out = 0;
  let n = 0;
  let bad = 0;
  let u0 = null;
  let t0 = 0;
  let end = Infinity;
  let cpu = null;
  let ms = 0;
  let done;
  const drained = new Promise((resolve) => (done = resolve));
  const call = () => {
    out++;
    const w = ep.send(msg);
    if (w) w.catch(fail);
  };
  ep.onMessage((b, o, l) => {
    out--;
    if (l !== p.size) bad++;
    const t = now();
    if (u0 === null) {
      if (t >= t0) {
        u0 = usage();
        t0 = t;
        end = t + p.seconds * 1000;
      }
    } else if (cpu === null) {
      n++;
      if (t >= end) {
        cpu = since(u0);
        ms = t - t0;
      }
    }
    if (cpu === null) call();
    else if (out === 0) done();
    return undefined;
  });
  await started();
  t0 = now() + p.warmSeconds * 1000;
  for (let k = 0; k < p.inflight; k++) call();
  await drained;
  if (bad > 0) throw new Error(`${bad} answers were not the size of their call`);
  await ep.send(EMPTY);
  report({ role: 'client', ops: n, seconds: ms / 1000, cpuUs: cpu.cpuUs });
  await close(ep);
}

/** Sends stamped messages for warm-up plus the measured time, then the empty one. */
async function source(ep, p) {
  const id = p.producerId ?? 0;
  const batch = ep.sendMany ? Array.from({ length: 64 }, () => new Uint8Array(p.size)) : null;
  const msg = new Uint8Array(p.size);
  await started();
  const start = now();
  const warmEnd = start + p.warmSeconds * 1000;
  const end = warmEnd + p.seconds * 1000;
  let u0 = null;
  let seq = 0;
  for (let t = start; t < end; t = now()) {
    if (u0 === null && t >= warmEnd) u0 = usage();
    if (batch) {
      for (const m of batch) stamp(m, seq++, id);
      ep.sendMany(batch);
    } else if (ep.async) {
      for (let k = 0; k < 64; k++) {
        stamp(msg, seq++, id);
        const w = ep.send(msg);
        if (w) await w;
      }
    } else {
      for (let k = 0; k < 64; k++) {
        stamp(msg, seq++, id);
        ep.send(msg);
      }
    }
  }
  const cpu = since(u0 ?? usage());
  await ep.send(EMPTY);
  report({ role: 'source', sent: seq, cpuUs: cpu.cpuUs, seconds: u0 ? (now() - warmEnd) / 1000 : 0 });
  await close(ep);
}

/** Receives and checks every message until each producer has sent its empty one. */
async function sink(ep, p) {
  const producers = p.producers ?? 1;
  const expect = new Int32Array(256);
  const ph = phase(p.warmSeconds);
  let ended = 0;
  let bad = 0;
  let n = 0;
  let counted = 0;
  // Look at the clock every 256 small messages, every large one.
  const mask = p.size >= 4096 ? 0 : 255;
  const check = (b, o, l) => {
    if (l === 0) return ++ended === producers ? STOP : undefined;
    const seq = b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24);
    const id = b[o + 4];
    if (seq !== expect[id]) bad++;
    expect[id] = seq + 1;
    if (ph.measuring) counted++;
    else if ((n++ & mask) === 0) ph.tick();
    return undefined;
  };
  ready();
  if (ep.async) {
    await new Promise((resolve) => ep.onMessage((b, o, l) => (check(b, o, l) === STOP ? (resolve(), STOP) : undefined)));
  } else {
    while (ended < producers) {
      if (!ep.drain || ep.drain(check) === 0) {
        const m = ep.receive();
        check(m, 0, m.length);
      }
    }
  }
  const { cpuUs, ms, whole } = ph.end();
  report({ role: 'sink', msgs: whole ? n : counted, seconds: ms / 1000, cpuUs, bad });
  await close(ep);
}

/** Holds what the driver's idle() sets waiting, and measures the process meanwhile. */
async function idle(ep, p) {
  await started();
  await sleep(p.warmSeconds * 1000);
  const u0 = usage();
  const t0 = now();
  await sleep(p.seconds * 1000);
  const ms = now() - t0;
  const { cpuUs, wakeups } = since(u0);
  report({ role: 'idle', cpuUs, wakeups, seconds: ms / 1000 });
  await close(ep);
}

module.exports = { echo, ping, rate, window, source, sink, idle, STOP, EMPTY, fail };

/** One in-process operation, timed by the `benchmark` package. */
async function micro(ep, p) {
  const Benchmark = require('benchmark');
  await started();
  const b = new Benchmark('op', ep.fn, { maxTime: p.seconds, minSamples: 5 });
  b.run();
  if (b.error) throw b.error;
  report({ role: 'micro', ns: 1e9 / b.hz, rme: b.stats.rme });
  await close(ep);
}

module.exports.micro = micro;

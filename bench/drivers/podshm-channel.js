// podshm's Channel. Variant: `wait` ('spin' | 'adaptive' | 'block'); `loop`: 'sync'
// (blocking calls; drain on the receiving side), 'for-await' (event loop, `for await`),
// 'batch' (event loop, receiveView then drain what is already there: no copy), the
// for-await loop getting copies (the default form); `many`: the
// producer sends batches of 64 with sendMany; `zeroCopy`: send with reserve/commit,
// writing only the 8 bytes a sequence needs (the message is built in place).
'use strict';
const { Channel } = require('podshm');
const { STOP, fail } = require('../lib/roles');

let counter = 0;
const pow2 = (n) => 2 ** Math.ceil(Math.log2(n));

function setup(kind, p, v) {
  // Room for four messages of the largest size, and never less than the default 1 MiB.
  const capacity = Math.max(1 << 20, pow2(4 * (p.size + 16)));
  const count = kind === 'idle' ? p.receivers : kind === 'oneway' ? 1 : 2;
  const names = [];
  for (let i = 0; i < count; i++) {
    const ch = Channel.create(`/podshm-bench-${process.pid}-${++counter}`, {
      capacity,
      wait: v.wait ?? 'adaptive',
      producers: (p.producers ?? 1) > 1 ? 'multi' : 'single',
    });
    names.push(ch.name);
    ch.close();
  }
  return { names };
}

function cleanup(res) {
  for (const name of res.names) Channel.unlink(name);
}

function syncEndpoint(tx, rx, v) {
  return {
    send: v.zeroCopy
      ? (m) => {
          if (m.length === 0) return tx.sendSync(m);
          const slot = tx.reserveSync(m.length);
          slot.bytes.set(m.subarray(0, 8));
          slot.commit();
        }
      : (m) => tx.sendSync(m),
    sendMany: v.many ? (ms) => tx.sendManySync(ms) : undefined,
    receive: () => rx.receiveViewSync(),
    drain: rx ? (h) => rx.drain(h) : undefined,
  };
}

function asyncEndpoint(tx, rx, v) {
  return {
    async: true,
    send: (m) => (tx.trySend(m) ? undefined : tx.send(m)),
    onMessage(handler) {
      (v.loop === 'batch' ? batchLoop : forAwaitLoop)(rx, handler).catch(fail);
    },
  };
}

async function forAwaitLoop(rx, handler) {
  for await (const m of rx) {
    const r = handler(m, 0, m.length);
    if (r === STOP) return;
    if (r) await r;
  }
}

async function batchLoop(rx, handler) {
  for (;;) {
    const m = await rx.receiveView();
    let r = handler(m, 0, m.length);
    if (r === STOP) return;
    if (r) await r;
    let stop = false;
    let pending = null;
    rx.drain((b, o, l) => {
      if (stop) return;
      r = handler(b, o, l);
      if (r === STOP) stop = true;
      else if (r) pending = r;
    });
    if (stop) return;
    if (pending) await pending;
  }
}

function endpoint({ kind, side, res, v }) {
  if (kind === 'idle') {
    // Receivers waiting on the event loop for messages that never come.
    const chans = res.names.map((n) => Channel.open(n));
    const acs = chans.map((ch) => {
      const ac = new AbortController();
      ch.receiver().receive({ signal: ac.signal }).catch(() => {});
      return ac;
    });
    return { close: () => (acs.forEach((ac) => ac.abort()), chans.forEach((ch) => ch.close())) };
  }
  const chans = res.names.map((n) => Channel.open(n));
  let tx = null;
  let rx = null;
  if (kind === 'oneway') {
    if (side === 'a') tx = chans[0].sender();
    else rx = chans[0].receiver();
  } else {
    // a sends on the first channel and hears back on the second.
    tx = chans[side === 'a' ? 0 : 1].sender();
    rx = chans[side === 'a' ? 1 : 0].receiver();
  }
  const ep = (v.loop ?? 'sync') === 'sync' ? syncEndpoint(tx, rx, v) : asyncEndpoint(tx, rx, v);
  ep.close = () => chans.forEach((ch) => ch.close());
  return ep;
}

function problem(kind, p) {
  if ((p.producers ?? 1) > 48) return 'a channel takes at most 48 producers';
  return null;
}

module.exports = { problem, setup, cleanup, endpoint };

// A minimal single-producer ring a user would write over shared memory: a head and a
// tail word on their own cache lines, fixed slots of [length, payload], Atomics to
// publish, a spin to wait. Used by the js-ring and shm-typed-array drivers.
'use strict';

const HEAD = 0; // Int32 index of the head (bytes 0-3)
const TAIL = 16; // Int32 index of the tail (bytes 64-67)
const DATA = 128;

const stride = (size) => Math.ceil((size + 8) / 64) * 64;
// About 1 MiB of slots, as a channel's default ring, and at least four.
const slots = (size) => Math.max(4, Math.min(16384, 2 ** Math.floor(Math.log2((1 << 20) / stride(size)))));
const bytes = (size) => DATA + slots(size) * stride(size);

function problem(kind, p) {
  if ((p.producers ?? 1) > 1) return 'the hand-written ring takes one producer';
  if (kind === 'idle') return 'a spinning ring cannot wait idle';
  return null;
}

function sender(mem, size) {
  const ctl = new Int32Array(mem.buffer, mem.byteOffset, 32);
  const words = new Int32Array(mem.buffer, mem.byteOffset, mem.length >> 2);
  const n = slots(size);
  const s = stride(size);
  let head = 0;
  let tail = 0;
  return (m) => {
    while (head - tail >= n) tail = Atomics.load(ctl, TAIL);
    const at = DATA + (head & (n - 1)) * s;
    words[at >> 2] = m.length;
    mem.set(m, at + 8);
    Atomics.store(ctl, HEAD, ++head);
  };
}

function receiver(mem, size) {
  const ctl = new Int32Array(mem.buffer, mem.byteOffset, 32);
  const words = new Int32Array(mem.buffer, mem.byteOffset, mem.length >> 2);
  const n = slots(size);
  const s = stride(size);
  const views = new Array(n).fill(null);
  let head = 0;
  let tail = 0;
  let held = false;
  const release = () => {
    if (held) Atomics.store(ctl, TAIL, ++tail);
    held = false;
  };
  return {
    receive() {
      release();
      while (tail === head) head = Atomics.load(ctl, HEAD);
      const slot = tail & (n - 1);
      const at = DATA + slot * s;
      const len = words[at >> 2];
      let v = views[slot];
      if (v === null || v.length !== len) v = views[slot] = mem.subarray(at + 8, at + 8 + len);
      held = true;
      return v;
    },
    drain(handler) {
      release();
      head = Atomics.load(ctl, HEAD);
      const from = tail;
      while (tail < head) {
        const at = DATA + (tail & (n - 1)) * s;
        handler(mem, at + 8, words[at >> 2]);
        tail++;
      }
      if (tail !== from) Atomics.store(ctl, TAIL, tail);
      return tail - from;
    },
  };
}

/** An endpoint over `mems` (one ring for one way, two for a round trip). */
function endpoint({ kind, side, p }, mems) {
  if (kind === 'oneway') {
    if (side === 'a') return { send: sender(mems[0], p.size) };
    const rx = receiver(mems[0], p.size);
    return { receive: rx.receive, drain: rx.drain };
  }
  const rx = receiver(mems[side === 'a' ? 1 : 0], p.size);
  return { send: sender(mems[side === 'a' ? 0 : 1], p.size), receive: rx.receive };
}

module.exports = { problem, bytes, endpoint };

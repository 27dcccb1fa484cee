// The floor for JavaScript: a minimal hand-written ring (bench/lib/spin-ring.js) spinning
// with Atomics on memory from podshm's SharedMemory, which maps the segment as a real
// SharedArrayBuffer. No waiting but the spin, one producer.
'use strict';
const { SharedMemory } = require('podshm');
const ring = require('../lib/spin-ring');

let counter = 0;

function setup(kind, p) {
  const names = [];
  for (let i = 0; i < (kind === 'oneway' ? 1 : 2); i++) {
    const shm = SharedMemory.create(`/podshm-bench-ring-${process.pid}-${++counter}`, ring.bytes(p.size));
    names.push(shm.name);
    shm.close();
  }
  return { names };
}

const cleanup = (res) => res.names.forEach((n) => SharedMemory.unlink(n));

function endpoint(spec) {
  const maps = spec.res.names.map((n) => SharedMemory.open(n));
  const ep = ring.endpoint(spec, maps.map((m) => new Uint8Array(m.buffer)));
  ep.close = () => maps.forEach((m) => m.close());
  return ep;
}

module.exports = { problem: ring.problem, setup, cleanup, endpoint };

// shm-typed-array, the other npm package that maps shared memory: it cannot wait across
// processes, so it carries the same hand-written spinning ring as js-ring.
'use strict';
const ring = require('../lib/spin-ring');

let counter = 0;

function load() {
  try {
    return require('shm-typed-array');
  } catch (err) {
    return err;
  }
}

function problem(kind, p) {
  const shm = load();
  if (shm instanceof Error) return `shm-typed-array does not load here: ${shm.message.split('\n')[0]}`;
  return ring.problem(kind, p);
}

function setup(kind, p) {
  const shm = load();
  const keys = [];
  for (let i = 0; i < (kind === 'oneway' ? 1 : 2); i++) {
    const key = `/podshm-bench-shmta-${process.pid}-${++counter}`;
    shm.create(ring.bytes(p.size), 'Buffer', key);
    keys.push(key);
  }
  return { keys };
}

function cleanup(res) {
  const shm = load();
  for (const key of res.keys) shm.destroy(key);
}

function endpoint(spec) {
  const shm = load();
  return ring.endpoint(spec, spec.res.keys.map((k) => shm.get(k, 'Buffer')));
}

module.exports = { problem, setup, cleanup, endpoint };

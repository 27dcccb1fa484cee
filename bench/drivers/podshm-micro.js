// In-process operations of podshm, each timed by the `benchmark` package in a fresh
// process (role `micro`). Variant `op` names one of OPS.
'use strict';
const { SharedMemory, Semaphore, Mutex, Channel, SysVSharedMemory } = require('podshm');

let counter = 0;

const OPS = {
  'semaphore acquire+release': (r) => {
    const sem = Semaphore.init(r.shm, 0, 1);
    return () => (sem.acquireSync(), sem.release());
  },
  'semaphore tryAcquire+release': (r) => {
    const sem = Semaphore.init(r.shm, 0, 1);
    return () => (sem.tryAcquire(), sem.release());
  },
  'mutex lock+unlock': (r) => {
    const m = Mutex.init(r.shm, 64);
    return () => (m.lockSync(), m.unlock());
  },
  'mutex tryLock+unlock': (r) => {
    const m = Mutex.init(r.shm, 64);
    return () => (m.tryLock(), m.unlock());
  },
  'channel trySend+tryReceive, 64 B': (r) => {
    const ch = Channel.open(r.channel);
    const tx = ch.sender();
    const rx = ch.receiver();
    const msg = new Uint8Array(64);
    return () => (tx.trySend(msg), rx.tryReceive());
  },
  'channel open+close': (r) => () => Channel.open(r.channel).close(),
  'shared memory open+close': (r) => () => SharedMemory.open(r.name).close(),
  'System V create+remove, 1 MiB': () => () => {
    const seg = SysVSharedMemory.create('private', 1 << 20);
    seg.unlink();
    seg.close();
  },
};

const problem = (kind, p, v) => (kind === 'micro' && OPS[v.op] ? null : `no micro operation ${v.op}`);

function setup() {
  const name = `/podshm-bench-micro-${process.pid}-${++counter}`;
  SharedMemory.create(name, 4096).close();
  const ch = Channel.create(`${name}-ch`, { capacity: 1 << 16 });
  ch.close();
  return { name, channel: ch.name };
}

function cleanup(res) {
  SharedMemory.unlink(res.name);
  Channel.unlink(res.channel);
}

function endpoint({ res, v }) {
  const shm = SharedMemory.open(res.name);
  return { fn: OPS[v.op]({ ...res, shm }), close: () => shm.close() };
}

module.exports = { problem, setup, cleanup, endpoint };

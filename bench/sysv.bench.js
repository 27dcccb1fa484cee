// System V segments: what a create/attach life cycle costs through podshm (capacity
// checks, pre-fault, SharedArrayBuffer) against the same system calls from C, with
// POSIX SharedMemory beside it.
'use strict';
const { SharedMemory, SysVSharedMemory } = require('..');

const SIZE = 1 << 20;

function perOp(n, fn) {
  for (let i = 0; i < Math.min(n, 20); i++) fn(); // warm up
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  return Number(process.hrtime.bigint() - start) / n;
}

exports.run = async function run(suite) {
  const c = suite.cProgram('sysv_cycle');
  const n = 500;

  const group = 'sysv create+pre-fault+detach+remove, 1 MiB';
  suite.record(group, 'C shmget/shmat/MADV_POPULATE_WRITE', Number(await suite.capture(c, ['create', SIZE, n])), 'ns');
  suite.record(group, 'podshm SysVSharedMemory', perOp(n, () => {
    const seg = SysVSharedMemory.create('private', SIZE);
    seg.remove();
    seg.detach();
  }), 'ns');
  let i = 0;
  suite.record(group, 'podshm SharedMemory (POSIX, fallocate)', perOp(n, () => {
    const shm = SharedMemory.create(`/podshm-bench-sysv-${process.pid}-${i++}`, SIZE);
    shm.unlink();
    shm.close();
  }), 'ns');

  const attach = 'sysv attach+detach of an existing 1 MiB segment';
  suite.record(attach, 'C shmat/shmdt', Number(await suite.capture(c, ['attach', SIZE, n * 10])), 'ns');
  const seg = SysVSharedMemory.create('private', SIZE);
  try {
    suite.record(attach, 'podshm SysVSharedMemory.open({ id })', perOp(n * 10, () => SysVSharedMemory.open({ id: seg.id }).detach()), 'ns');
  } finally {
    seg.remove();
    seg.detach();
  }
};

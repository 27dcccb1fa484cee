// In-process operations, timed by the `benchmark` package, beside C where C has one.
'use strict';
const r = require('./rows');

const op = (name) => ({ name: `podshm ${name}`, driver: 'podshm-micro', v: { op: name } });

module.exports = ({ quick, time }) => {
  const p = { size: 64, warmSeconds: 0, seconds: quick ? 0.2 : Math.max(0.5, time.seconds) };
  const groups = [
    {
      title: 'uncontended acquire and release, try* calls',
      kind: 'micro',
      p,
      rows: [
        r.c('C sem_wait + sem_post (pshared)', 'sync_sem', ['uncontended', '{n}'], 'ns', 2e7),
        op('semaphore acquire+release'),
        op('semaphore tryAcquire+release'),
        op('mutex lock+unlock'),
        op('mutex tryLock+unlock'),
        op('channel trySend+tryReceive, 64 B'),
      ],
    },
  ];
  if (!quick) {
    groups.push({
      title: 'open and close',
      kind: 'micro',
      p,
      rows: [
        r.c('C shmget+shmat+pre-fault+shmdt+IPC_RMID, 1 MiB', 'sysv_cycle', ['create', '1048576', '{n}'], 'ns', 2000),
        op('System V create+remove, 1 MiB'),
        op('shared memory open+close'),
        op('channel open+close'),
      ],
    });
  }
  return groups;
};

// The rows trials share: one peer in one configuration each.
'use strict';

const c = (name, program, args, unit, perSecond) => ({ name, driver: 'c', v: { program, args, unit, perSecond } });

module.exports = {
  c,
  channel: (wait, extra = {}, label = '') => ({ name: `podshm Channel '${wait}'${label}`, driver: 'podshm-channel', v: { wait, ...extra } }),
  forAwait: (wait = 'adaptive') => ({ name: `podshm Channel '${wait}', for await`, driver: 'podshm-channel', v: { wait, loop: 'for-await' } }),
  batch: (wait = 'adaptive') => ({ name: `podshm Channel '${wait}', receiveView+drain`, driver: 'podshm-channel', v: { wait, loop: 'batch' } }),
  zeroCopy: { name: "podshm Channel 'adaptive', reserve/commit", driver: 'podshm-channel', v: { wait: 'adaptive', zeroCopy: true } },
  jsRing: { name: 'JS ring on SharedMemory (spin)', driver: 'js-ring' },
  shmta: { name: 'shm-typed-array + JS ring (spin)', driver: 'shm-typed-array' },
  unix: { name: 'Unix socket (net, framed)', driver: 'unix' },
  service: { name: 'podshm Service/Client call()', driver: 'podshm-service' },
  serviceWait: (wait) => ({ name: `podshm Service/Client call(), wait '${wait}'`, driver: 'podshm-service', v: { wait } }),
  http: (transport) => ({ name: `HTTP/1.1 keep-alive POST, ${transport === 'tcp' ? '127.0.0.1' : 'Unix socket'}`, driver: 'http', v: { transport } }),
  grpc: { name: '@grpc/grpc-js unary, Unix socket', driver: 'grpc' },
  ipc: { name: 'child_process IPC', driver: 'child-ipc' },
  zmq: (pattern) => ({ name: `zeromq ${pattern} ipc://`, driver: 'zeromq' }),
  mq: (loop) => ({ name: `podshm MessageQueue, ${loop === 'sync' ? 'blocking' : 'event loop'}`, driver: 'podshm-mq', v: { loop } }),
  sem: (loop) => ({ name: `podshm Semaphore, ${loop === 'sync' ? 'acquireSync' : 'acquire'}`, driver: 'podshm-sem', v: { loop } }),
};

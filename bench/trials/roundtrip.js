// Round trips between two processes: 64 B in each wait mode beside its floor, and every
// peer across message sizes (the latency-size chart).
'use strict';
const r = require('./rows');

const SIZES = [64, 1024, 64 << 10, 1 << 20, 4 << 20];
const label = (size) => (size >= 1 << 20 ? `${size >> 20} MiB` : size >= 1024 ? `${size >> 10} KiB` : `${size} B`);

module.exports = ({ quick, time }) => {
  const p = (size = 64) => ({ size, ...time });
  const groups = [
    {
      title: 'round trip 64 B, busy (spinning)',
      kind: 'rtt',
      p: p(),
      rows: [r.jsRing, r.c('C spin on one word', 'channel_pingpong', ['spin', '{n}'], 'ns', 1e6), r.shmta, r.channel('spin'), r.channel('adaptive')],
    },
    {
      title: "round trip 64 B, idle-friendly ('block')",
      kind: 'rtt',
      p: p(),
      rows: [
        r.c('C futex ping-pong, 5 µs spin first', 'channel_pingpong', ['futex-spin', '{n}'], 'ns', 1e5),
        r.c('C futex ping-pong', 'channel_pingpong', ['futex', '{n}'], 'ns', 5e4),
        r.channel('block'),
      ],
    },
    {
      title: 'round trip 64 B, both sides on the event loop',
      kind: 'rtt',
      p: p(),
      rows: [r.unix, r.forAwait('adaptive'), r.forAwait('block'), r.batch('block'), r.ipc, r.zmq('REQ/REP')],
    },
    {
      title: 'call round trip 64 B, request/response on the event loop',
      kind: 'rtt',
      p: p(),
      rows: [r.service, r.serviceWait('adaptive'), r.http('unix'), r.http('tcp'), r.grpc, r.unix],
    },
    {
      title: 'message queue round trip 64 B, blocking',
      kind: 'rtt',
      p: p(),
      rows: [{ name: 'C mq_send/mq_receive', driver: 'c', v: { program: 'mq', unit: 'ns', perSecond: 4e4 } }, r.mq('sync'), r.mq('async')],
    },
    {
      title: 'semaphore handoff (round trip, no payload)',
      kind: 'rtt',
      p: p(),
      rows: [r.c('C sem_post/sem_wait', 'sync_sem', ['handoff', '{n}'], 'ns', 4e4), r.sem('sync'), r.sem('async')],
    },
  ];
  if (quick) return groups;
  for (const size of SIZES) {
    groups.push({
      title: `round trip ${label(size)}, every peer`,
      kind: 'rtt',
      p: p(size),
      chart: 'latency-size',
      rows: [r.unix, r.channel('adaptive'), r.zeroCopy, r.jsRing, r.shmta, r.ipc, r.zmq('REQ/REP'), r.mq('sync')],
    });
  }
  return groups;
};

module.exports.label = label;
module.exports.SIZES = SIZES;

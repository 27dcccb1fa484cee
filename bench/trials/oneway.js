// One-way throughput: 64 B busy and on the event loop, larger messages, 1, 2 and 4 producers.
'use strict';
const r = require('./rows');
const { SIZES, label } = require('./roundtrip');

module.exports = ({ quick, time }) => {
  const p = (size = 64, producers = 1) => ({ size, producers, ...time });
  const groups = [
    {
      title: 'one way 64 B, event loop on both sides',
      kind: 'oneway',
      p: p(),
      chart: 'throughput',
      rows: [r.unix, r.forAwait('adaptive'), r.batch('adaptive'), r.ipc, r.zmq('PUSH/PULL'), r.mq('async')],
    },
  ];
  if (quick) return groups;
  groups.unshift({
    title: 'one way 64 B, blocking or spinning calls',
    kind: 'oneway',
    p: p(),
    rows: [
      r.c('C ring, publish per message', 'channel_spsc', ['{n}', '1'], 'msg/s', 2e7),
      r.c('C ring, publish per 64', 'channel_spsc', ['{n}', '64'], 'msg/s', 4e7),
      r.channel('adaptive', { many: true }, ', sendMany(64) + drain'),
      r.channel('adaptive', {}, ', send + drain'),
      r.jsRing,
      r.shmta,
      r.mq('sync'),
    ],
  });
  for (const size of SIZES.slice(1)) {
    groups.push({
      title: `one way ${label(size)}`,
      kind: 'oneway',
      p: p(size),
      rows: [
        r.unix,
        r.channel('adaptive', {}, ', send + drain'),
        r.jsRing,
        r.ipc,
        r.zmq('PUSH/PULL'),
        ...(size === 1 << 20 ? [r.c('C shared memory frames (every word checked)', 'shm_frames', ['{n}'], 'msg/s', 3000)] : []),
      ],
    });
  }
  for (const producers of [1, 2, 4]) {
    groups.push({
      title: `one way 64 B, ${producers} producer${producers > 1 ? 's' : ''}`,
      kind: 'oneway',
      p: p(64, producers),
      rows: [r.unix, r.channel('block', {}, ', send + drain'), r.forAwait('block'), r.mq('sync'), r.zmq('PUSH/PULL')],
    });
  }
  return groups;
};

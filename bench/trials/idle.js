// What waiting costs: a process whose event loop holds nothing but N receivers waiting
// for messages that never come, beside a bare Node.js process: CPU and wake-ups per second
// (voluntary context switches of the whole process).
'use strict';

module.exports = ({ quick, time }) =>
  (quick ? [1] : [1, 10, 100]).map((receivers) => ({
    title: `idle: ${receivers} waiting receiver${receivers > 1 ? 's' : ''} (CPU % of one core)`,
    kind: 'idle',
    p: { size: 64, receivers, warmSeconds: time.warmSeconds, seconds: Math.max(0.3, Math.min(quick ? 1 : 3, time.seconds * 10)) },
    rows: [
      { name: 'bare Node.js process', driver: 'node' },
      { name: "podshm Channel 'block', receive", driver: 'podshm-channel', v: { wait: 'block' } },
      { name: "podshm Channel 'adaptive', receive", driver: 'podshm-channel', v: { wait: 'adaptive' } },
    ],
  }));

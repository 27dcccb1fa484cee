// Latency at a fixed offered rate, 64 B requests answered by an echo: percentiles from
// HdrHistogram, each latency counted from when its request was due.
'use strict';
const r = require('./rows');

module.exports = ({ quick, time }) =>
  (quick ? [10_000] : [10_000, 100_000]).map((rate) => ({
    title: `latency at ${rate / 1000} k msg/s offered, 64 B round trip`,
    kind: 'rate',
    // A rate trial runs long enough for a thousand samples at least, after a warm-up
    // long enough to compile the event-loop paths at 10 k msg/s (at 0.15 s, their round
    // trips were still twice the steady ones).
    p: { size: 64, rate, warmSeconds: Math.max(time.warmSeconds, quick ? 0.3 : 1), seconds: Math.max(time.seconds, 0.1) * 2 },
    chart: rate === 10_000 ? 'percentiles' : null,
    rows: [r.unix, r.channel('block'), r.forAwait('block'), r.batch('block'), r.ipc, r.zmq('REQ/REP'), r.mq('async'), r.c('C Unix socket, epoll', 'socket_rate', ['{n}', '{rate}', '{size}'], 'count', rate)],
  }));

// One way under a CPU limit: each process in its own cpu cgroup with a CFS quota of half a
// CPU, as a Kubernetes limit of 500m makes it.
'use strict';
const r = require('./rows');
const { cpuCgroupProblem } = require('../lib/cgroup');

module.exports = ({ quick, time }) => [
  {
    title: 'one way 64 B, event loop, each side limited to 0.5 CPU',
    kind: 'oneway',
    cpus: 0.5,
    // Several CFS periods (100 ms) in the warm-up and in the measurement.
    p: { size: 64, producers: 1, warmSeconds: quick ? 0.2 : 0.3, seconds: quick ? 0.5 : Math.max(1, time.seconds * 2) },
    skip: cpuCgroupProblem(),
    rows: quick ? [r.unix, r.batch('adaptive')] : [r.unix, r.forAwait('adaptive'), r.batch('adaptive'), r.zmq('PUSH/PULL')],
  },
];

// What each kind of trial reports for a measured row: a Node.js peer's figures, and a C
// program's (its figure, a round trip's percentiles, and CPU per message where two
// processes exchange them).
export const FIELDS = {
  rtt: ['ns', 'p50', 'p99', 'p999', 'msgPerSec', 'bytesPerSec', 'cpuUsPerMsg'],
  rate: ['p50', 'p99', 'p999', 'cpuUsPerMsg'],
  inflight: ['msgPerSec', 'cpuUsPerMsg'],
  oneway: ['msgPerSec', 'bytesPerSec', 'cpuUsPerMsg'],
  idle: ['cpuPct', 'wakeupsPerSec'],
  micro: ['ns'],
};
export const C_FIELDS = { rtt: ['ns', 'p50', 'p99', 'p999', 'msgPerSec', 'cpuUsPerMsg'], rate: ['p50', 'p99', 'p999', 'cpuUsPerMsg'], oneway: ['msgPerSec', 'cpuUsPerMsg'], micro: ['ns'] };

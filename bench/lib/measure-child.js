// What every peer process shares: its CPU and context switches over the measured phase,
// latency histograms, and the one line it reports to the orchestrator (bench/lib/spawn.js).
'use strict';
const hdr = require('hdr-histogram-js');

/** A snapshot of this process's CPU (µs) and voluntary context switches. */
function usage() {
  const r = process.resourceUsage();
  return { cpuUs: r.userCPUTime + r.systemCPUTime, wakeups: r.voluntaryContextSwitches };
}

/** CPU and context switches since `from`, a usage() snapshot. */
function since(from) {
  const now = usage();
  return { cpuUs: now.cpuUs - from.cpuUs, wakeups: now.wakeups - from.wakeups };
}

// Values are ns; an hour is more than any wait here.
const histogram = () => hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3.6e12, numberOfSignificantValueDigits: 3 });

function percentiles(h) {
  return { p50: h.getValueAtPercentile(50), p99: h.getValueAtPercentile(99), p999: h.getValueAtPercentile(99.9), samples: h.totalCount };
}

/** The one line a peer reports; the orchestrator collects every such line of its stdout. */
function report(result) {
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}

/** A server tells the orchestrator it can be talked to. */
const ready = () => process.stdout.write('READY\n');

/**
 * A client says it is ready and waits for the orchestrator's "go" on stdin, which comes
 * once every client is ready: producers started one after another (slowly, on a busy
 * machine) then run together, and none finishes before the last has attached.
 */
function started() {
  ready();
  return new Promise((resolve) => {
    let line = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (d) => {
      line += d;
      if (line.includes('\n')) {
        process.stdin.pause();
        resolve();
      }
    });
  });
}

module.exports = { usage, since, histogram, percentiles, report, ready, started };

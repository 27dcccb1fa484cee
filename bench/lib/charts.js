// The charts of a run (its JSON), written as SVG files: latency against message size for
// each peer, throughput and CPU per message of the event-loop peers, latency percentiles
// at a fixed rate.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { lineChart, barChart } = require('./svg');
const { time, rate } = require('./table');

const size = (b) => (b >= 1 << 20 ? `${b / (1 << 20)} MiB` : b >= 1024 ? `${b / 1024} KiB` : `${b} B`);
const measured = (g) => g.rows.filter((r) => r.summary);
const med = (row, key) => row.summary[key]?.median;

function charts(run) {
  const out = {};
  const m = run.machine;
  const on = `${m.cpu}, ${m.cores} cores, Node ${m.node}`;
  const sweep = run.groups.filter((g) => g.chart === 'latency-size');
  if (sweep.length) {
    const names = [...new Set(sweep.flatMap((g) => measured(g).map((r) => r.name)))];
    const series = names.map((name) => ({
      name,
      points: sweep.flatMap((g) => measured(g).filter((r) => r.name === name).map((r) => [g.p.size, med(r, 'ns')])),
    }));
    out['latency-size.svg'] = lineChart({ title: `Round trip against message size (median; ${on})`, xLabel: 'message size', yLabel: 'round trip', series, xFormat: size, yFormat: time });
  }
  const tp = run.groups.find((g) => g.chart === 'throughput');
  if (tp && measured(tp).length) {
    const rows = measured(tp);
    out['throughput.svg'] = barChart({ title: `${tp.title} (median)`, xLabel: 'messages per second', categories: rows.map((r) => r.name), series: [{ name: 'msg/s', values: rows.map((r) => med(r, 'msgPerSec')) }], log: true, format: (x) => rate(x, '') });
    out['cpu-per-message.svg'] = barChart({ title: `CPU per message, both processes: ${tp.title}`, xLabel: 'CPU µs per message', categories: rows.map((r) => r.name), series: [{ name: 'CPU µs/msg', values: rows.map((r) => med(r, 'cpuUsPerMsg')) }], format: (x) => `${Number(x.toPrecision(3))} µs` });
  }
  const pc = run.groups.find((g) => g.chart === 'percentiles');
  if (pc && measured(pc).length) {
    const rows = measured(pc);
    const series = [['p50', 'p50'], ['p99', 'p99'], ['p99.9', 'p999']].map(([name, key]) => ({ name, values: rows.map((r) => med(r, key)) }));
    out['percentiles.svg'] = barChart({ title: `${pc.title}: latency percentiles`, xLabel: 'latency (from when each request was due)', categories: rows.map((r) => r.name), series, log: true, format: time });
  }
  return out;
}

/** Writes the charts of `run` into `dir`; returns the files written. */
function writeCharts(run, dir) {
  fs.mkdirSync(dir, { recursive: true });
  return Object.entries(charts(run)).map(([name, svg]) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, svg);
    return file;
  });
}

module.exports = { charts, writeCharts };

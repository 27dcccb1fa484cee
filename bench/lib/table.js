// The run on stdout: a machine header, then one table per group with each row's median
// (min to max over repetitions), its ratio to the group's first row, and the other columns.
'use strict';

function time(ns) {
  if (!Number.isFinite(ns)) return '';
  if (ns >= 1e9) return `${(ns / 1e9).toFixed(2)} s`;
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`;
  return `${ns.toFixed(0)} ns`;
}
function rate(x, unit) {
  if (!Number.isFinite(x)) return '';
  if (x >= 1e9) return `${(x / 1e9).toFixed(2)} G${unit}`;
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)} M${unit}`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)} k${unit}`;
  return `${x.toFixed(0)} ${unit}`;
}
const plain = (x, digits, unit) => (Number.isFinite(x) ? `${x.toFixed(digits)}${unit}` : '');

// How each column is shown.
const FORMAT = {
  ns: time,
  p50: time,
  p99: time,
  p999: time,
  msgPerSec: (x) => rate(x, 'msg/s'),
  bytesPerSec: (x) => rate(x, 'B/s'),
  cpuUsPerMsg: (x) => plain(x, 3, ' µs'),
  cpuPct: (x) => plain(x, 3, '%'),
  wakeupsPerSec: (x) => plain(x, 1, '/s'),
  rme: (x) => plain(x, 1, '%'),
};
const COLUMNS = {
  rtt: ['p50', 'p99', 'p999', 'msgPerSec', 'bytesPerSec', 'cpuUsPerMsg'],
  rate: ['p99', 'p999', 'cpuUsPerMsg'],
  inflight: ['cpuUsPerMsg'],
  oneway: ['bytesPerSec', 'cpuUsPerMsg'],
  idle: ['wakeupsPerSec'],
  micro: ['rme'],
};
const HEADS = { p50: 'p50', p99: 'p99', p999: 'p99.9', msgPerSec: 'msg/s', bytesPerSec: 'bytes/s', cpuUsPerMsg: 'CPU/msg', wakeupsPerSec: 'wake-ups', rme: '±' };

function header(machine) {
  return `# podshm benchmark: ${machine.cpu}, ${machine.cores} cores, Linux ${machine.kernel}, Node ${machine.node}, ${machine.date}\n# ${machine.command}\n`;
}

/** The ratio of `row` to `base` by the group's primary figure, as "how many times better". */
function ratio(group, row, base) {
  const { key, lower } = group.primary;
  const a = row.summary?.[key]?.median;
  const b = base?.summary?.[key]?.median;
  if (!Number.isFinite(a) || !Number.isFinite(b) || a === 0 || b === 0) return null;
  return lower ? a / b : b / a;
}

function groupTable(group) {
  const { key } = group.primary;
  const base = group.rows.find((r) => r.summary);
  const cols = COLUMNS[group.kind];
  const lines = [`\n## ${group.title}  (ratio to the first row: above 1 is slower or costlier)`];
  // More ratios to the first row: CPU per message (what a CPU limit makes count) and, at
  // a fixed rate, the tail.
  const extra = (group.kind === 'rate' ? ['p99', 'cpuUsPerMsg'] : ['cpuUsPerMsg']).filter((k) => base?.summary?.[k]?.median > 0);
  const extraRatio = (row, k) => (row.summary[k] ? `${(row.summary[k].median / base.summary[k].median).toFixed(2)}x` : '');
  lines.push(['row'.padEnd(46), 'median (min to max)'.padEnd(44), 'ratio'.padStart(7), ...cols.map((c) => HEADS[c].padStart(12)), ...extra.map((k) => `${HEADS[k]} ratio`.padStart(13))].join(' '));
  for (const row of group.rows) {
    if (!row.summary) {
      lines.push(`${row.name.padEnd(46)} ${row.skipped ? `skipped: ${row.skipped}` : `failed: ${row.error}`}`);
      continue;
    }
    const s = row.summary;
    const fmt = FORMAT[key];
    const main = `${fmt(s[key].median)} (${fmt(s[key].min)} to ${fmt(s[key].max)})`;
    const r = ratio(group, row, base);
    lines.push([row.name.padEnd(46), main.padEnd(44), (r === null ? '' : `${r.toFixed(2)}x`).padStart(7), ...cols.map((c) => (s[c] ? FORMAT[c](s[c].median) : '').padStart(12)), ...extra.map((k) => extraRatio(row, k).padStart(13))].join(' '));
  }
  return lines.join('\n') + '\n';
}

module.exports = { header, groupTable, ratio, time, rate };

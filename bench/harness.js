// Helpers for bench/*.bench.js: compile the C peers, run processes, keep figures, and
// print ratios against a named baseline.
'use strict';
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const BIN = path.join(__dirname, 'c', 'bin');
// How many times alternate() measures each row (BENCH_ROUNDS overrides).
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

/** Compiles bench/c/<name>.c once per run (gcc -O2) and returns the binary's path. */
function cProgram(name, extraFlags = []) {
  fs.mkdirSync(BIN, { recursive: true });
  const src = path.join(__dirname, 'c', `${name}.c`);
  const out = path.join(BIN, name);
  execFileSync('cc', ['-O2', '-std=gnu11', '-o', out, src, '-lpthread', '-lrt', ...extraFlags], { stdio: 'inherit' });
  return out;
}

/** Runs a command and resolves with its stdout; rejects on a non-zero exit. */
function capture(command, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'], ...opts });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${command} ${args.join(' ')} exited ${code}`))));
  });
}

function fmt(value, unit) {
  if (unit === 'ns') {
    if (value >= 1e6) return `${(value / 1e6).toFixed(2)} ms`;
    if (value >= 1e3) return `${(value / 1e3).toFixed(2)} µs`;
    return `${value.toFixed(0)} ns`;
  }
  if (unit === 'msg/s') {
    if (value >= 1e6) return `${(value / 1e6).toFixed(2)} M msg/s`;
    if (value >= 1e4) return `${(value / 1e3).toFixed(1)} k msg/s`;
    return `${value.toFixed(0)} msg/s`;
  }
  if (unit === 'B/s') return `${(value / 2 ** 30).toFixed(2)} GiB/s`;
  return `${value} ${unit}`;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[(xs.length - 1) >> 1];

/**
 * A run's figures. record() prints one line; alternate() measures rows in turn, several
 * rounds, and records each row's median; summary() compares the figures of a group
 * against its first entry, as a ratio of times ('ns') or of rates.
 */
function suite() {
  const rows = [];
  const record = (group, name, value, unit, note = '') => {
    rows.push({ group, name, value, unit, note });
    process.stdout.write(`  ${name.padEnd(44)} ${fmt(value, unit).padStart(14)}${note ? '  ' + note : ''}\n`);
  };
  return {
    cProgram,
    capture,
    record,
    // On this shared 2-vCPU machine a figure moves by up to 2x from one minute to the
    // next, C's as much as ours (which physical cores the vCPUs sit on, other tenants).
    // Rows that a ratio compares are therefore measured in alternation, `rounds` times,
    // so that each sees the same conditions; each reports its median and its range.
    async alternate(group, entries, rounds = ROUNDS) {
      const values = entries.map(() => []);
      for (let r = 0; r < rounds; r++) {
        for (let i = 0; i < entries.length; i++) values[i].push(await entries[i].measure());
      }
      const medians = values.map(median);
      entries.forEach((e, i) => {
        const range = `median of ${rounds}, ${fmt(Math.min(...values[i]), e.unit)} to ${fmt(Math.max(...values[i]), e.unit)}`;
        record(group, e.name, medians[i], e.unit, range);
      });
    },
    summary() {
      const groups = [...new Set(rows.map((r) => r.group))];
      process.stdout.write(`\n## ratios (node ${process.version}, ${os.cpus().length} cpus, ${os.cpus()[0]?.model ?? ''})\n`);
      for (const g of groups) {
        const rs = rows.filter((r) => r.group === g);
        const base = rs[0];
        process.stdout.write(`\n${g} (baseline: ${base.name})\n`);
        for (const r of rs) {
          const ratio = r.value / base.value;
          const word = r.unit === 'ns' ? 'the time' : 'the rate';
          process.stdout.write(`  ${r.name.padEnd(44)} ${fmt(r.value, r.unit).padStart(14)}  ${ratio < 0.1 ? ratio.toPrecision(2) : ratio.toFixed(2)}x ${r === base ? '(baseline)' : word}\n`);
        }
      }
    },
  };
}

module.exports = { suite, cProgram, capture };

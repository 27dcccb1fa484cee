#!/usr/bin/env node
// The benchmark suite: drivers (bench/drivers, one per peer) run trials (bench/trials, one
// per workload) in fresh processes; rows compared by a ratio are measured in alternation.
// Not a test: nothing here passes or fails. Usage: USAGE below.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { machine } = require('./lib/machine');
const { runGroup, steps } = require('./lib/runner');
const { header, groupTable } = require('./lib/table');
const { progress } = require('./lib/progress');
const { writeCharts } = require('./lib/charts');
const { stopAll } = require('./lib/spawn');

const USAGE = 'usage: node bench/run.js [--quick] [--json FILE] [--charts DIR] [--only REGEX] [--reps N] [--seconds S]\n';
const TRIALS = ['roundtrip', 'inflight', 'oneway', 'rate', 'cpulimit', 'idle', 'micro'];

async function main() {
  let opts;
  try {
    ({ values: opts } = parseArgs({
      options: {
        help: { type: 'boolean', default: false },
        quick: { type: 'boolean', default: false },
        json: { type: 'string' },
        charts: { type: 'string' },
        only: { type: 'string' },
        reps: { type: 'string' },
        seconds: { type: 'string' },
      },
    }));
  } catch (err) {
    process.stderr.write(`${err.message}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (opts.help) {
    process.stdout.write(USAGE);
    return;
  }
  const quick = opts.quick;
  const seconds = Number(opts.seconds ?? (quick ? 0.15 : 0.3));
  const time = { seconds, warmSeconds: Math.min(0.15, seconds / 2) };
  const reps = Number(opts.reps ?? (quick ? 1 : 3));
  const only = opts.only ? new RegExp(opts.only, 'i') : null;
  const groups = TRIALS.flatMap((t) => require(`./trials/${t}`)({ quick, time })).filter((g) => !only || only.test(g.title));

  const command = `node bench/run.js ${process.argv.slice(2).join(' ')}`.trim();
  const run = { machine: machine(command), groups: [] };
  process.stdout.write(header(run.machine));
  const bar = progress(steps(groups, reps));
  // Ctrl-C or a TERM: the peers are killed, and each measurement removes what it made.
  let interrupted = false;
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      interrupted = true;
      stopAll();
    });
  }
  const t0 = Date.now();
  for (const g of groups) {
    const result = await runGroup(g, { reps, progress: bar, stopped: () => interrupted });
    if (interrupted) break;
    run.groups.push(result);
    bar.end();
    process.stdout.write(groupTable(result));
  }
  if (interrupted) {
    process.exitCode = 130;
    return;
  }
  run.machine.wallSeconds = Math.round((Date.now() - t0) / 1000);
  process.stdout.write(`\n# ${groups.length} groups in ${run.machine.wallSeconds} s\n`);
  if (opts.json) {
    fs.mkdirSync(path.dirname(path.resolve(opts.json)), { recursive: true });
    fs.writeFileSync(opts.json, JSON.stringify(run, null, 1) + '\n');
  }
  if (opts.charts) for (const file of writeCharts(run, opts.charts)) process.stdout.write(`# wrote ${file}\n`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});

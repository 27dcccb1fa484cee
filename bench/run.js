#!/usr/bin/env node
// The benchmark suite: every bench/*.bench.js in one run, on one machine, printing each
// figure beside its peers and as a ratio. Not a test: nothing here passes or fails.
//   node bench/run.js [filter...]     e.g. node bench/run.js channel
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { suite } = require('./harness');

async function main() {
  const filters = process.argv.slice(2);
  const files = fs
    .readdirSync(__dirname)
    .filter((f) => f.endsWith('.bench.js'))
    .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
    .sort();
  const s = suite();
  for (const f of files) {
    process.stdout.write(`\n## ${f.replace('.bench.js', '')}\n`);
    await require(path.join(__dirname, f)).run(s);
  }
  s.summary();
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});

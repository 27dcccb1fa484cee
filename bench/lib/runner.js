// Runs groups of rows: each row's driver says first whether it can run here; the rows of
// a group are measured in alternation, `reps` rounds, so that a ratio compares figures
// taken under the same conditions; each row keeps its repetitions and their summary.
'use strict';
const { measure, driverOf } = require('./measure');
const { summarize } = require('./stats');

// The figure each kind of trial is compared by, and whether less is better.
const PRIMARY = {
  rtt: { key: 'ns', lower: true },
  rate: { key: 'p50', lower: true },
  inflight: { key: 'msgPerSec', lower: false },
  oneway: { key: 'msgPerSec', lower: false },
  idle: { key: 'cpuPct', lower: true },
  micro: { key: 'ns', lower: true },
};

async function runGroup(group, { reps, progress, stopped = () => false }) {
  const rows = group.rows.map((row) => {
    const driver = driverOf(row.driver);
    const skipped = group.skip ?? driver.problem?.(group.kind, group.p, row.v ?? {}) ?? null;
    return { name: row.name, driver: row.driver, v: row.v ?? {}, skipped, error: null, reps: [] };
  });
  for (let r = 0; r < reps; r++) {
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i];
      if (row.skipped || row.error || stopped()) continue;
      try {
        row.reps.push(await measure(group.kind, group.p, group.rows[i], { cpus: group.cpus }));
      } catch (err) {
        row.error = err.message;
      }
      progress.step(`${group.title}: ${row.name}`);
    }
  }
  // A row that failed in any round is reported as failed, not summarized from the rest.
  for (const row of rows) row.summary = row.reps.length && !row.error ? summarize(row.reps) : null;
  return { title: group.title, kind: group.kind, p: group.p, chart: group.chart ?? null, primary: PRIMARY[group.kind], rows };
}

/** How many measurements `groups` take, for the progress bar. */
const steps = (groups, reps) => groups.reduce((n, g) => n + g.rows.length * reps, 0);

module.exports = { runGroup, steps, PRIMARY };

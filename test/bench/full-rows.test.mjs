// Rows that only the full run (no --quick) has: the round trip of every peer (with
// reserve/commit), one way with sendMany and C's ring, several producers, calls with 64
// in flight, and the open and close micro rows. One short repetition of each runs on the current API: every row
// is measured or skipped with its reason, none fails. It asserts no figure.
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../helpers.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podshm-bench-full-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const json = path.join(dir, 'run.json');

// A hang guard only.
t.setTimeout(300_000);
const GROUPS = ['round trip 64 B, every peer', 'calls with 64 in flight, 64 B, request/response on the event loop', 'one way 64 B, blocking or spinning calls', 'one way 64 B, 2 producers', 'open and close'];
const args = ['--seconds', '0.05', '--reps', '1', '--only', GROUPS.join('|'), '--json', json];
const res = await run(process.execPath, [path.join(root, 'bench/run.js'), ...args], { cwd: root, timeoutMs: 280_000 });
t.equal(res.code, 0, res.stderr);
const out = JSON.parse(fs.readFileSync(json, 'utf8'));

t.same(out.groups.map((g) => g.title), GROUPS, 'each group ran');
for (const g of out.groups) {
  for (const row of g.rows) {
    t.equal(row.error, null, `${g.title}: ${row.name} did not fail`);
    if (row.skipped) t.match(row.skipped, /\w+/, `${row.name}: the reason it was skipped`);
    else if (!row.error) t.ok(Number.isFinite(row.summary[g.primary.key]?.median), `${g.title}: ${row.name} has its ${g.primary.key}`);
    if (g.kind === 'inflight' && row.summary) t.ok(row.summary.cpuUsPerMsg.median > 0, `${row.name}: CPU per call`);
  }
}

// The run the README shows (docs/bench): its charts are the ones the suite draws from its
// JSON, the README and docs/performance.md state the command, machine and duration of
// that run, and the run is of the suite as it is (its groups, row names and columns).
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { C_FIELDS, FIELDS } from './fields.mjs';

const require = createRequire(import.meta.url);
const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = path.join(root, 'docs/bench');
const { charts } = require('../../bench/lib/charts.js');
const run = JSON.parse(fs.readFileSync(path.join(dir, 'results.json'), 'utf8'));
const m = run.machine;

t.test('the committed charts are drawn from the committed JSON', async (t) => {
  const drawn = charts(run);
  t.same(fs.readdirSync(dir).filter((f) => f.endsWith('.svg')).sort(), Object.keys(drawn).sort());
  for (const [name, svg] of Object.entries(drawn)) t.equal(fs.readFileSync(path.join(dir, name), 'utf8'), svg, name);
});

t.test('the README and performance.md state that run', async (t) => {
  t.match(m.command, /^node bench\/run\.js .*--json docs\/bench\/results\.json/);
  t.match(m.command, /--charts docs\/bench/);
  t.notMatch(m.command, /--quick|--only|--seconds|--reps/, 'a full run with the default repetitions');
  const npm = m.command.replace(/^node bench\/run\.js/, 'npm run bench --');
  const facts = [npm, `${m.cores} vCPUs`, `Linux ${m.kernel.split('.').slice(0, 2).join('.')}`, `Node ${m.node.slice(1)}`, `${m.wallSeconds} s`];
  for (const doc of ['README.md', 'docs/performance.md']) {
    const text = fs.readFileSync(path.join(root, doc), 'utf8').replace(/\s+/g, ' ');
    for (const fact of facts) t.ok(text.includes(fact), `${doc} states "${fact}"`);
  }
});

t.test('the run is of the suite as it is', async (t) => {
  const trials = fs.readdirSync(path.join(root, 'bench/trials')).filter((f) => f !== 'rows.js');
  const suite = trials.flatMap((f) => require(path.join(root, 'bench/trials', f))({ quick: false, time: { seconds: 0.3, warmSeconds: 0.15 } }));
  t.same(run.groups.map((g) => g.title).sort(), suite.map((g) => g.title).sort(), 'the same groups');
  for (const g of suite) {
    const ran = run.groups.find((x) => x.title === g.title);
    if (!ran) continue;
    t.same(ran.rows.map((r) => r.name), g.rows.map((r) => r.name), `${g.title}: the same rows`);
    for (const row of ran.rows.filter((r) => r.summary)) {
      for (const f of (row.driver === 'c' ? C_FIELDS : FIELDS)[g.kind]) t.ok(Number.isFinite(row.summary[f]?.median), `${g.title}: ${row.name} has ${f}`);
    }
    for (const row of ran.rows.filter((r) => !r.summary)) t.ok(row.skipped, `${g.title}: ${row.name} was skipped, not failed`);
  }
});

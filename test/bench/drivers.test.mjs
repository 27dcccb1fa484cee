// The suite runs end to end: a short --quick run of groups that hold every driver and
// every kind of trial (fresh processes, real kernel objects) gives each row its columns
// or a stated reason for skipping it, prints them, writes the JSON, and leaves nothing
// behind. It asserts the shape of the results, never how fast anything was.
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../helpers.mjs';
import { C_FIELDS, FIELDS } from './fields.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podshm-bench-test-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const json = path.join(dir, 'run.json');
// A hang guard only: the run takes well under a minute on an idle 2-core machine.
t.setTimeout(360_000);
const GROUPS = 'busy|event loop|message queue|semaphore|10 k msg/s|0.5 CPU|idle|uncontended';
const args = ['--quick', '--seconds', '0.05', '--only', GROUPS, '--json', json];
const res = await run(process.execPath, [path.join(root, 'bench/run.js'), ...args], { cwd: root, timeoutMs: 340_000 });
t.equal(res.code, 0, res.stderr);
const out = JSON.parse(fs.readFileSync(json, 'utf8'));

t.test('the machine header', async (t) => {
  for (const key of ['cpu', 'kernel', 'node', 'command']) t.type(out.machine[key], 'string', key);
  t.equal(out.machine.cores, os.cpus().length);
  t.match(res.stdout, /^# podshm benchmark: .*Node v\d+/);
});

t.test('every kind of trial and every driver appears, measured or skipped with a reason', async (t) => {
  t.same([...new Set(out.groups.map((g) => g.kind))].sort(), ['idle', 'micro', 'oneway', 'rate', 'rtt']);
  const drivers = new Set(out.groups.flatMap((g) => g.rows.map((r) => r.driver)));
  for (const d of ['c', 'podshm-channel', 'podshm-mq', 'podshm-sem', 'podshm-micro', 'js-ring', 'shm-typed-array', 'unix', 'http', 'grpc', 'podshm-service', 'child-ipc', 'zeromq', 'node']) t.ok(drivers.has(d), d);
  for (const g of out.groups) {
    for (const row of g.rows) {
      t.equal(row.error, null, `${g.title}: ${row.name} did not fail`);
      if (row.skipped) {
        t.match(row.skipped, /\w+/, `${row.name}: the reason it was skipped`);
        continue;
      }
      const fields = row.driver === 'c' ? C_FIELDS[g.kind] : FIELDS[g.kind];
      for (const f of fields) {
        const s = row.summary[f];
        t.ok(Number.isFinite(s?.median) && s.median >= 0, `${g.title}: ${row.name} has ${f}`);
        t.ok(s.min <= s.median && s.median <= s.max, `${row.name}: ${f} median within min and max`);
      }
      if (g.kind === 'rtt' || g.kind === 'rate') {
        const { p50, p99, p999 } = row.summary;
        t.ok(p50.median <= p99.median && p99.median <= p999.median, `${row.name}: percentiles in order`);
      }
      t.ok(res.stdout.includes(row.name), `${row.name} is in the table`);
    }
  }
});

t.test('each row of a group has a name of its own', async (t) => {
  // The table, the charts and the JSON tell rows apart by name.
  for (const g of out.groups) {
    const names = g.rows.map((r) => r.name);
    t.same([...new Set(names)], names, g.title);
  }
});

t.test('no progress bar when stderr is not a terminal', async (t) => {
  t.notMatch(res.stderr, /\r|\[#/);
});

t.test('nothing is left behind', async (t) => {
  const pid = out.machine.pid;
  const leftovers = fs.readdirSync('/dev/shm').filter((f) => f.startsWith(`podshm-bench-${pid}-`) || f.startsWith(`podshm-bench-ring-${pid}-`) || f.startsWith(`podshm-bench-sem-${pid}-`) || f.startsWith(`podshm-bench-micro-${pid}-`));
  t.same(leftovers, [], 'no shared memory');
  const mq = fs.existsSync('/dev/mqueue') ? fs.readdirSync('/dev/mqueue').filter((f) => f.startsWith(`podshm-bench-mq-${pid}-`)) : [];
  t.same(mq, [], 'no message queue');
  const cg = fs.existsSync('/sys/fs/cgroup/cpu') ? fs.readdirSync('/sys/fs/cgroup/cpu').filter((f) => f.startsWith(`podshm-bench-${pid}-`)) : [];
  t.same(cg, [], 'no cgroup');
});

// bench/ab.js runs end to end: given one build as both sides (the control it is meant to
// be run with), it prints a row per operation with both figures and the ratio quartiles,
// and leaves no object behind. It asserts the shape of the output, never a figure.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../helpers.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));

t.test('one build against itself', async (t) => {
  let pid;
  const res = await run(process.execPath, [path.join(root, 'bench/ab.js'), root, root, '--rounds', '3'], { cwd: root, onSpawn: (c) => (pid = c.pid) });
  t.equal(res.code, 0, res.stderr);
  const rows = res.stdout.split('\n').filter((l) => / ns +[\d.]+ ns /.test(l));
  t.equal(rows.length, 7, res.stdout);
  for (const row of rows) t.match(row, /^\S.* [\d.]+ ns +[\d.]+ ns +[\d.]+, [\d.]+, [\d.]+$/);
  const left = fs.readdirSync('/dev/shm').filter((f) => f.startsWith(`podshm-ab-${pid}-`));
  const queues = fs.existsSync('/dev/mqueue') ? fs.readdirSync('/dev/mqueue').filter((f) => f.startsWith(`podshm-ab-${pid}-`)) : [];
  t.same([...left, ...queues], [], 'nothing left behind');
});

t.test('two directories are required', async (t) => {
  const res = await run(process.execPath, [path.join(root, 'bench/ab.js'), root], { cwd: root });
  t.equal(res.code, 2);
  t.match(res.stderr, /usage: node bench\/ab\.js BEFORE_DIR AFTER_DIR/);
});

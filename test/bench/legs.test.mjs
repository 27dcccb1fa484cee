// bench/legs.js runs end to end: a line per way of receiving with each leg's figures, its
// channels gone after, and an unknown way refused. It asserts the output's shape, never
// a figure.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../helpers.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const legs = path.join(root, 'bench/legs.js');
const num = String.raw`[\d.]+ \(p90 [\d.]+\)`;

t.test('each way of receiving, leg by leg', async (t) => {
  let pid;
  const res = await run(process.execPath, [legs, '--count', '400', '--rate', '2000'], { cwd: root, onSpawn: (c) => (pid = c.pid) });
  t.equal(res.code, 0, res.stderr);
  const lines = res.stdout.split('\n').filter((l) => l.includes('µs:'));
  t.same(lines.map((l) => l.split(' ')[0]), ['sync', 'view', 'for-await'], res.stdout);
  for (const l of lines) t.match(l, new RegExp(`to the echo ${num} \\| echo ${num} \\| back ${num} \\| send call ${num} \\| echo's CPU [\\d.]+ per message$`));
  t.same(fs.readdirSync('/dev/shm').filter((f) => f.startsWith(`podshm-legs-${pid}-`)), [], 'nothing left behind');
});

t.test('an unknown way of receiving is refused', async (t) => {
  const res = await run(process.execPath, [legs, '--loop', 'poll'], { cwd: root });
  t.not(res.code, 0);
  t.match(res.stderr, /unknown loop poll: sync, view or for-await/);
});

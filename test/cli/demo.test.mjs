// The README's first command runs `podshm demo`; this keeps it working.
import t from 'tap';
import { readdirSync } from 'node:fs';
import { run } from '../helpers.mjs';

const main = new URL('../../dist/cjs/cli/main.js', import.meta.url).pathname;
// What the demo run by process `pid` left in /dev/shm (its objects carry its pid; other
// runs on the machine may have theirs there at the same time).
const left = (pid) => readdirSync('/dev/shm').filter((f) => f.startsWith(`podshm-demo-${pid}-`) || f.startsWith(`podshm-demo-${pid}.`));

t.test('podshm demo exchanges data between two processes and checks it', async (t) => {
  const r = await run(process.execPath, [main, 'demo', '--seconds', '1'], { timeoutMs: 60_000 });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /checked\s+all \d+ in order\s+all \d+ in order/, 'both streams arrived whole and in order');
  t.match(r.stdout, /round trip\s+[\d.]+ µs\s+[\d.]+ µs/);
  t.match(r.stdout, /one way\s+[\d.]+ M msg\/s\s+[\d.]+ M msg\/s/);
});

t.test('a demo that cannot start fails cleanly and leaves nothing behind', async (t) => {
  // The socket cannot be made (TMPDIR does not exist) after both channels were.
  let pid;
  const r = await run(process.execPath, [main, 'demo', '--seconds', '1'], { env: { TMPDIR: '/nonexistent/podshm' }, timeoutMs: 60_000, onSpawn: (c) => (pid = c.pid) });
  t.equal(r.code, 3, 'an error (the demo could not run), not a hang');
  t.match(r.stderr, /listen E[A-Z]+/);
  t.same(left(pid), [], 'no channel or bell of this demo left in /dev/shm');
});

t.test('a demo whose names are gone early still runs: the peer holds what it needs', async (t) => {
  let pid;
  const r = await run(process.execPath, [main, 'demo', '--seconds', '1'], { timeoutMs: 60_000, onSpawn: (c) => (pid = c.pid) });
  t.equal(r.code, 0, r.stderr);
  t.same(left(pid), [], 'nothing of this demo left in /dev/shm');
});

t.test('podshm with no or an unknown command prints usage and fails', async (t) => {
  const none = await run(process.execPath, [main]);
  t.equal(none.code, 2);
  t.equal(none.stdout, '');
  t.match(none.stderr, /^usage: podshm <command>/);
  const unknown = await run(process.execPath, [main, 'frobnicate']);
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, /unknown command 'frobnicate'/);
  const bad = await run(process.execPath, [main, 'demo', '--seconds', 'x']);
  t.equal(bad.code, 2);
  t.equal(bad.stderr.trim().split('\n').length, 1, 'a bad option is one clear line');
});

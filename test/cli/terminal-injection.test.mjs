// Names are chosen by whoever creates an object, and a valid POSIX name may hold any
// byte but '/' and NUL: every podshm output of a name must show control characters as
// escapes, never send them to the reader's terminal.
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { SharedMemory } from 'podshm';
import { run } from '../helpers.mjs';

const parsePrometheus = createRequire(import.meta.url)('parse-prometheus-text-format');
const cli = fileURLToPath(new URL('../../dist/cjs/cli/main.js', import.meta.url));
const podshm = (args) => run(process.execPath, [cli, ...args], { env: { COLUMNS: '200' } });
// An xterm title change, a bidi override and a C1 CSI.
const HOSTILE = 'evil\x1b]0;owned\x07-\u202e-\u009b2J';
// Anything a terminal acts on: C0 but newline, DEL, C1, bidi overrides.
// eslint-disable-next-line no-control-regex -- matching them is the point
const ACTIVE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

t.test('ls, gc, rm and errors print hostile names escaped', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podshm-inject-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  SharedMemory.create(HOSTILE, 4096, { dir }).close();

  const ls = await podshm(['ls', '--dir', dir]);
  t.equal(ls.code, 0, ls.stderr);
  t.notMatch(ls.stdout, ACTIVE, 'ls prints no control character');
  t.match(ls.stdout, '/evil\\x1b]0;owned\\x07-\\u202e-\\x9b2J', 'the name is shown escaped');

  const lsJson = await podshm(['ls', '--json', '--dir', dir]);
  t.notMatch(lsJson.stdout, ACTIVE, 'ls --json prints no control character');
  t.ok(JSON.parse(lsJson.stdout).posix.objects.some((o) => o.name === `/${HOSTILE}`), 'and its JSON still holds the real name');

  const gc = await podshm(['gc', '--dry-run', '--dir', dir]);
  t.notMatch(gc.stdout + gc.stderr, ACTIVE, 'gc prints no control character');

  const missing = await podshm(['rm', '--dir', dir, `${HOSTILE}-missing`]);
  t.equal(missing.code, 1);
  t.match(missing.stderr, 'ENOENT', missing.stderr);
  t.notMatch(missing.stderr, ACTIVE, 'rm errors print no control character');

  const rm = await podshm(['rm', '--force', '--dir', dir, HOSTILE]);
  t.equal(rm.code, 0, rm.stderr);
  t.notMatch(rm.stdout, ACTIVE, 'rm prints no control character');
  t.match(rm.stdout, 'removed /evil\\x1b');

  const unknown = await podshm([HOSTILE]);
  t.notMatch(unknown.stderr, ACTIVE, 'an unknown command is printed escaped');
});

t.test('metrics label values show hostile names escaped, and still parse', async (t) => {
  const dir = fs.mkdtempSync('/dev/shm/podshm-inject-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  SharedMemory.create(HOSTILE, 4096, { dir }).close();
  const metrics = await podshm(['metrics', '--once', '--no-mqueue', '--dir', dir]);
  t.equal(metrics.code, 0, metrics.stderr);
  t.notMatch(metrics.stdout, ACTIVE, 'metrics prints no control character');
  const sizes = parsePrometheus(metrics.stdout).find((f) => f.name === 'podshm_object_size_bytes');
  t.same(
    sizes.metrics.filter((m) => m.labels.kind === 'shm').map((m) => m.labels.name),
    ['/evil\\x1b]0;owned\\x07-\\u202e-\\x9b2J'],
    'a Prometheus parser reads the name as `podshm ls` shows it',
  );
});

// A C peer's sparse object (sized with ftruncate alone) on a tmpfs that cannot hold it:
// a write into a hole would find no page, and the fault guard could only put a private
// zero page there, so the write would never reach the object. open() must refuse such
// an object with a CapacityError, and reserve the holes of one that fits.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { fixture, run } from '../helpers.mjs';
import { MiB, podSupport } from '../pod.mjs';

const why = podSupport();
t.test('open() of a sparse object on a 64 MiB tmpfs', { skip: why ?? false }, async (t) => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'podshm-sparse-'));
  t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));
  const exe = path.join(work, 'sparse-object');
  const cc = await run('cc', ['-O1', '-o', exe, fixture('sparse-object.c')]);
  if (cc.code !== 0) return t.skip(`needs a C compiler: ${cc.stderr}`);
  const dir = path.join(work, 'shm');
  fs.mkdirSync(dir);
  // A private mount namespace: the tmpfs exists only for this command.
  const script = `mount -t tmpfs -o size=${64 * MiB} podshm-sparse "$1" && "$2" "$1/big" ${128 * MiB} && "$2" "$1/small" ${16 * MiB} && exec "$3" "$4" "$1"`;
  const r = await run('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', dir, exe, process.execPath, fixture('sparse-open.mjs')], {
    env: { NODE_OPTIONS: '' },
  });
  t.equal(r.code, 0, r.stderr);
  const [big, small, readOnly] = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  t.match(big, { object: 'big', opened: false, name: 'CapacityError', code: 'ENOSPC' }, 'the object that cannot fit is refused');
  t.match(big.message, /unreserved part of shared memory '\/big'/);
  t.same(small, { object: 'small', opened: true, lostPages: 0, missing: 0 }, 'every write to the one that fits reaches it');
  t.same(readOnly, { object: 'big', readOnly: true, size: 128 * MiB }, 'a read-only (private) view needs no reservation');
});

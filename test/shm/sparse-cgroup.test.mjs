// A C peer's sparse object (sized with ftruncate alone) larger than the opener's memory
// cgroup: every page written into a hole is charged to the writer's cgroup, and tmpfs
// pages cannot be reclaimed without swap, so writing it all ends in an OOM kill. A
// writable open() must refuse it with a CapacityError before anything is charged, and
// reserve the holes of one that fits. A real v1/v2 memory cgroup, a child of this
// process's own, and a private tmpfs large enough that only the cgroup can refuse.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { fixture, run } from '../helpers.mjs';
import { MiB, memoryHierarchy, podSupport } from '../pod.mjs';

// Room for node itself (about 50 MiB) and the small object, far less than the big one.
const LIMIT = 128 * MiB;
const BIG = 256 * MiB;
const SMALL = 16 * MiB;

const why = podSupport({ cgroup: true });
const hierarchy = why === null ? memoryHierarchy() : why;
const skip = typeof hierarchy === 'string' ? hierarchy : false;

// Counters that say whether the cgroup ever met its limit: v1 failcnt and oom_control's
// oom_kill, v2 memory.events' max and oom_kill.
function pressure(cg, version) {
  const read = (f) => fs.readFileSync(path.join(cg, f), 'utf8');
  if (version === 1) {
    return { hitLimit: Number(read('memory.failcnt')), oomKills: Number(/^oom_kill (\d+)/m.exec(read('memory.oom_control'))?.[1] ?? 0) };
  }
  const events = read('memory.events');
  return { hitLimit: Number(/^max (\d+)/m.exec(events)[1]), oomKills: Number(/^oom_kill (\d+)/m.exec(events)[1]) };
}

t.test(`open() of a sparse ${BIG / MiB} MiB object from a ${LIMIT / MiB} MiB memory cgroup`, { skip }, async (t) => {
  const { version, base } = hierarchy;
  const cg = path.join(base, `podshm-test-${process.pid}-sparse`);
  const dir = fs.mkdtempSync('/tmp/podshm-sparse-cgroup-');
  fs.mkdirSync(cg);
  t.teardown(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmdirSync(cg);
  });
  fs.writeFileSync(path.join(cg, version === 1 ? 'memory.limit_in_bytes' : 'memory.max'), String(LIMIT));
  if (version === 2) fs.writeFileSync(path.join(cg, 'memory.swap.max'), '0');

  // Into the cgroup before node starts, so every page it touches is charged there. The
  // tmpfs lives in a private mount namespace and goes (with its pages) when the command
  // ends; truncate makes the objects as a C peer's ftruncate does, with no page in them.
  // What the big object holds once node is done is printed last.
  const script =
    'echo $$ > "$1/cgroup.procs" && mount -t tmpfs -o size=$2 podshm-sparse-cgroup "$3" && ' +
    'truncate -s $4 "$3/big" && truncate -s $5 "$3/small" && "$6" "$7" "$3" && stat -c "%b %B" "$3/big"';
  const r = await run('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', cg, String(2 * BIG), dir, String(BIG), String(SMALL), process.execPath, fixture('sparse-open.mjs')], {
    env: { NODE_OPTIONS: '' },
  });
  const after = pressure(cg, version);
  t.same({ code: r.code, signal: r.signal }, { code: 0, signal: null }, `the opener was not killed: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  // An OOM kill ends the output early: the checks below then fail instead of throwing.
  const [big = {}, small = {}] = lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  t.match(big, { object: 'big', opened: false, name: 'CapacityError', code: 'ENOSPC' }, 'the object that cannot fit the cgroup is refused');
  t.match(big.message ?? '', /unreserved part of shared memory '\/big'.*memory cgroup.*128 MiB limit/s, 'and the error names the cgroup and its limit');
  const [blocks, blockSize] = (/^(\d+) (\d+)$/.exec(lines.at(-1)) ?? [null, NaN, NaN]).slice(1).map(Number);
  t.equal(blocks * blockSize, 0, 'no page of the refused object was reserved');
  t.same(small, { object: 'small', opened: true, lostPages: 0, missing: 0 }, 'every write to the one that fits reaches it');
  t.same(after, { hitLimit: 0, oomKills: 0 }, 'the cgroup never reached its limit');
});

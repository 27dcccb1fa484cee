// Capacity checks against a real 64 MiB tmpfs on /dev/shm (a private mount namespace,
// as a container gets) and a real memory cgroup with a limit.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { probeLimits } from 'podshm';
import { fixture, run, uniqueName } from '../helpers.mjs';
import { memoryHierarchy } from '../pod.mjs';

const MiB = 1024 * 1024;
const isRoot = process.getuid?.() === 0;

async function canUnshare() {
  if (!isRoot) return 'needs root for mount namespaces';
  const r = await run('unshare', ['--mount', '--propagation', 'private', 'true']).catch((e) => ({ code: -1, stderr: e.message }));
  return r.code === 0 ? false : `unshare --mount not permitted here: ${r.stderr.trim()}`;
}

/** Runs the shm fixture in a fresh mount namespace whose /dev/shm is a tmpfs of `size`. */
function inSmallShm(size, script) {
  // Mounted from 'shm', as container runtimes mount their /dev/shm.
  const cmd = `mount -t tmpfs -o size=${size} shm /dev/shm && ${script}`;
  return run('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', cmd]);
}

const create = (name, bytes) => `exec "${process.execPath}" "${fixture('shm-peer.mjs')}" create ${name} ${bytes}`;

t.test('in a container-sized 64 MiB /dev/shm', async (t) => {
  const skip = await canUnshare();
  if (skip) return t.skip(skip);

  t.test('100 MiB is a CapacityError with the numbers and the fix, and the process lives', async (t) => {
    const r = await inSmallShm('64m', create('/big', 100 * MiB));
    t.equal(r.code, 0, `no SIGBUS, no crash: ${r.stderr}`);
    const out = JSON.parse(r.stdout);
    t.equal(out.ok, false);
    t.equal(out.name, 'CapacityError');
    t.equal(out.code, 'ENOSPC');
    t.equal(out.requested, 100 * MiB);
    t.equal(out.measured.shmSize, 64 * MiB);
    t.equal(out.measured.shmFree, 64 * MiB);
    t.ok(out.limits.shm.containerDefault, 'probeLimits recognises the runtime default');
    t.match(out.message, /100 MiB: \/dev\/shm has 64 MiB free of 64 MiB, the container runtime's 64 MiB default/);
    t.match(out.message, /medium: Memory\n\s+sizeLimit: 125Mi/, 'the emptyDir snippet sizes for the request with a margin');
    t.equal(out.suggestedSizeLimit, 125 * MiB);
  });

  t.test('what fits is created and every page can be touched', async (t) => {
    const r = await inSmallShm('64m', create('/fits', 48 * MiB));
    t.equal(r.code, 0, r.stderr);
    t.equal(JSON.parse(r.stdout).ok, true);
  });

  t.test('a partly full tmpfs: the free space counts, not the size', async (t) => {
    const fill = `dd if=/dev/zero of=/dev/shm/filler bs=1M count=40 status=none && ${create('/rest', 30 * MiB)}`;
    const r = await inSmallShm('64m', fill);
    t.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    t.equal(out.name, 'CapacityError');
    t.equal(out.measured.shmFree, 24 * MiB);
  });

  t.test('a Channel: one that does not fit is a CapacityError and leaves nothing behind', async (t) => {
    const channel = (name, capacity) => `exec "${process.execPath}" "${fixture('channel-create.mjs')}" ${name} ${capacity}`;
    // The segment is the capacity plus a 4 KiB header: 64 MiB of ring does not fit 64 MiB.
    let r = await inSmallShm('64m', channel('/ring', 64 * MiB));
    t.equal(r.code, 0, `no SIGBUS, no crash: ${r.stderr}`);
    let out = JSON.parse(r.stdout);
    t.equal(out.name, 'CapacityError');
    t.equal(out.requested, 64 * MiB + 4096);
    t.match(out.message, /of 64\.004 MiB: \/dev\/shm has 64 MiB free/, 'the header is not rounded away');
    t.same(out.left, [], 'no segment and no bell left');
    r = await inSmallShm('64m', channel('/ring', 32 * MiB));
    out = JSON.parse(r.stdout);
    t.equal(out.ok, true, r.stderr);
    t.same(out.held, ['ring', 'ring.bell'], 'the segment and its bell while it exists');
    t.same(out.left, [], 'and nothing after unlink');
  });

  t.test("doctor: a 64 MiB Memory emptyDir (mounted from 'tmpfs') is not taken for the runtime's default", async (t) => {
    const cli = new URL('../../dist/cjs/cli/main.js', import.meta.url).pathname;
    for (const [source, runtimeDefault] of [['shm', true], ['tmpfs', false]]) {
      const script = `mount -t tmpfs -o size=64m ${source} /dev/shm && exec "${process.execPath}" "${cli}" doctor --json`;
      const r = await run('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script]);
      const report = JSON.parse(r.stdout);
      t.equal(report.shm.containerDefault, runtimeDefault, `from '${source}'`);
      t.equal(report.findings.some((f) => f.code === 'SHM_RUNTIME_DEFAULT'), runtimeDefault, `from '${source}': the warning ${runtimeDefault ? 'is' : 'is not'} given`);
    }
  });

  t.test('ramfs and a tmpfs with size=0 have no size limit: objects are made, not refused', async (t) => {
    for (const fs of ['-t ramfs ramfs', '-t tmpfs -o size=0 tmpfs']) {
      const script = `mount ${fs} /dev/shm && ${create('/nolimit', 4 * MiB)}`;
      const r = await run('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script]);
      t.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      t.equal(out.ok, true, `${fs}: created (statfs reads 0 blocks there, meaning no limit)`);
      t.equal(out.limits.shm.limited, false);
    }
  });

  t.test('a Memory emptyDir mounted elsewhere than /dev/shm: options.dir is measured', async (t) => {
    const dir = '/run/podshm-emptydir';
    const script = `mkdir -p ${dir} && mount -t tmpfs -o size=16m tmpfs ${dir} && ` +
      `exec "${process.execPath}" "${fixture('shm-peer.mjs')}" create /in-dir ${20 * MiB} ${dir}`;
    const r = await inSmallShm('64m', script);
    t.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    t.equal(out.name, 'CapacityError');
    t.equal(out.measured.path, dir);
    t.equal(out.measured.shmSize, 16 * MiB);
    t.match(out.message, /mountPath: \/run\/podshm-emptydir/);
  });

  t.test('a sparse object from another program: close() and a peer\'s shrink both work', async (t) => {
    for (const how of ['close', 'shrink']) {
      const sparse = `exec "${process.execPath}" "${fixture('guard-peer.cjs')}" huge /dev/shm ${how} ${8 * MiB}`;
      const r = await inSmallShm('16m', sparse);
      t.equal(r.signal, null, `${how}: no SIGBUS`);
      t.equal(r.code, 0, r.stderr);
      t.same(JSON.parse(r.stdout), how === 'close' ? { closed: true, first: 0 } : { seen: 0, lost: (8 * MiB) / 4096 - 1 }, how);
    }
    // One larger than the tmpfs: open() cannot reserve its holes, so it refuses it
    // rather than let writes into them fall into private zero pages.
    const r = await inSmallShm('16m', `exec "${process.execPath}" "${fixture('guard-peer.cjs')}" huge /dev/shm close ${2 ** 40}`);
    t.equal(r.code, 0, r.stderr);
    t.same(JSON.parse(r.stdout), { refused: 'CapacityError', code: 'ENOSPC' }, '1 TiB in a 16 MiB tmpfs');
  });

  t.test('a sparse object from another program does not turn into SIGBUS for podshm', async (t) => {
    // Another program made a sparse 100 MiB object (ftruncate, no reservation) in a 64 MiB
    // tmpfs; podshm's creation of its own object still fails cleanly.
    const script = `truncate -s 100M /dev/shm/sparse && ${create('/after-sparse', 70 * MiB)}`;
    const r = await inSmallShm('64m', script);
    t.equal(r.code, 0, r.stderr);
    t.equal(JSON.parse(r.stdout).name, 'CapacityError');
  });
});

t.test('in a child memory cgroup with a 256 MiB limit', async (t) => {
  // cgroup v1 (memory.limit_in_bytes) or v2 (memory.max), wherever this process's own
  // memory cgroup can have children (test/pod.mjs finds it, or says why not).
  const hierarchy = memoryHierarchy();
  if (!isRoot) return t.skip('needs root to make a memory cgroup');
  if (typeof hierarchy === 'string') return t.skip(hierarchy);
  const { version, base: parent } = hierarchy;
  const dir = path.join(parent, `podshm-test-${process.pid}`);
  try {
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, version === 1 ? 'memory.limit_in_bytes' : 'memory.max'), String(256 * MiB));
  } catch (err) {
    return t.skip(`cannot make a child memory cgroup here: ${err.message}`);
  }
  t.teardown(() => fs.rmdirSync(dir));
  const inCgroup = (script) => run('sh', ['-c', `echo $$ > ${dir}/cgroup.procs && ${script}`]);

  const fits = await inCgroup(create(uniqueName('cg-fits'), 32 * MiB));
  t.equal(fits.code, 0, fits.stderr);
  const ok = JSON.parse(fits.stdout);
  t.equal(ok.ok, true, 'a segment within the headroom is created and touched');
  const cg = ok.limits.cgroup;
  t.equal(cg.version, version);
  t.equal(cg.dir, dir, 'the probe found the cgroup the process was put in');
  t.equal(cg.limit, 256 * MiB, 'the limit is the one written');
  t.equal(cg.headroom, cg.limit - cg.workingSet, 'headroom is limit minus working set');
  t.ok(cg.usage > 0 && cg.usage < cg.limit);

  const big = await inCgroup(create(uniqueName('cg-big'), 300 * MiB));
  t.equal(big.code, 0, `refused, not OOM-killed: ${big.signal ?? ''} ${big.stderr}`);
  const err = JSON.parse(big.stdout);
  t.equal(err.name, 'CapacityError');
  t.equal(err.measured.cgroupLimit, 256 * MiB);
  t.ok(err.measured.cgroupHeadroom < 256 * MiB);
  t.match(err.message, /charged to this container's memory cgroup, which has [\d.]+ MiB left under its 256 MiB limit/);
});

t.test('probeLimits() describes this process', async (t) => {
  const l = probeLimits();
  t.equal(l.shm.path, '/dev/shm');
  t.ok(l.shm.size >= l.shm.free && l.shm.free >= 0);
  t.equal(l.ipcNamespace, fs.readlinkSync('/proc/self/ns/ipc'), 'the IPC namespace this process is in');
  t.type(l.mqueue.msgMax, 'number');
  t.type(l.sysv.shmmni, 'number');
  t.throws(() => probeLimits({ dir: '/no/such/dir' }), { code: 'ENOENT' });
});

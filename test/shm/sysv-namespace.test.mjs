// System V segments and namespaces: a segment belongs to one IPC namespace (a pod),
// is seen across mount namespaces (the pod's containers), and the namespace's own
// kernel.shm* limits are refused with a CapacityError before the kernel refuses.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFile, spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { CapacityError, SysVCapacityError, SysVSharedMemory, probeLimits } from 'podshm';
import { fixture } from '../helpers.mjs';

const exec = promisify(execFile);
const uniqueKey = () => randomInt(1, 2 ** 31 - 1);
const peer = fixture('sysv-peer.mjs');
const hostIpc = fs.readlinkSync('/proc/self/ns/ipc');
const hostMnt = fs.readlinkSync('/proc/self/ns/mnt');

const canUnshare = await exec('unshare', ['--ipc', '--mount', 'true']).then(
  () => true,
  () => false,
);
const noNamespaces = !canUnshare && 'needs root and unshare(1) for IPC and mount namespaces';

// Runs a command and parses the last line it prints as JSON.
async function json(cmd, args) {
  const { stdout } = await exec(cmd, args, { timeout: 30_000 });
  return JSON.parse(stdout.trim().split('\n').pop());
}

function scratch(t, size) {
  const seg = SysVSharedMemory.create(uniqueKey(), size);
  t.teardown(() => {
    seg.unlink();
    seg.close();
  });
  return seg;
}

t.test('another IPC namespace cannot see a segment; another mount namespace can', { skip: noNamespaces }, async (t) => {
  const seg = scratch(t, 4096);
  const elsewhere = await json('unshare', ['--ipc', process.execPath, peer, 'try-open', String(seg.key), `id:${seg.id}`]);
  t.not(elsewhere.ipc, hostIpc, 'the child ran in a new IPC namespace');
  t.match(elsewhere.results[0], { ok: false, code: 'ENOENT', syscall: 'shmget' }, 'the key is unknown there');
  t.match(elsewhere.results[1], { ok: false, code: 'ENOENT' }, 'nor is the id');
  t.same(elsewhere.ids, [], 'list() there is empty: a new IPC namespace starts with no segments');

  const sibling = await json('unshare', ['--mount', process.execPath, peer, 'try-open', String(seg.key)]);
  t.not(sibling.mnt, hostMnt, 'the child ran in a new mount namespace');
  t.equal(sibling.ipc, hostIpc, 'in the same IPC namespace');
  t.match(sibling.results[0], { ok: true, id: seg.id, size: 4096 }, 'and attached the segment');
  t.ok(sibling.ids.includes(seg.id), 'list() there shows it');
});

t.test('two containers of one pod share a segment, whatever each mounts at /dev/shm', { skip: noNamespaces }, async (t) => {
  const key = uniqueKey();
  // The pod: a fresh IPC namespace. Its first container creates the segment and starts
  // the second in a mount namespace of its own with a 1 MiB /dev/shm.
  const pod = spawn('unshare', ['--ipc', '--mount', process.execPath, peer, 'pod', String(key)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => pod.on('exit', (code, signal) => resolve({ code, signal })));
  t.teardown(() => pod.kill('SIGKILL'));
  const first = await createInterface({ input: pod.stdout })[Symbol.asyncIterator]().next();
  const r = JSON.parse(first.value);

  t.not(r.ipc, hostIpc, 'the pod has its own IPC namespace');
  t.equal(r.peer.ipc, r.ipc, 'both containers are in it');
  t.not(r.peer.mnt, r.mnt, 'each container has its own mount namespace');
  t.equal(r.peer.devShmBytes, 1 << 20, "the second container's /dev/shm is a separate 1 MiB tmpfs");
  t.equal(r.peer.size, 4 << 20, 'yet it attached the 4 MiB segment (SysV memory is not in /dev/shm)');
  t.equal(r.answer, 0xc0ffee, 'and its answer reached the first container');
  t.throws(() => SysVSharedMemory.open(key), { code: 'ENOENT' }, 'the host does not see the pod segment while it exists');

  pod.stdin.end();
  t.same(await exited, { code: 0, signal: null });
});

t.test("the namespace's shmmax, shmall and shmmni are CapacityErrors, where the kernel would refuse", { skip: noNamespaces }, async (t) => {
  const MiB = 1 << 20;
  const steps = [2 * MiB, MiB, MiB, 4096, 'remove-first', 4096, 'detach-first', 4096, 4096, 4096];
  const script =
    'echo 1048576 > /proc/sys/kernel/shmmax && echo 512 > /proc/sys/kernel/shmall && ' +
    'echo 3 > /proc/sys/kernel/shmmni && exec "$0" "$@"';
  const r = await json('unshare', ['--ipc', 'sh', '-c', script, process.execPath, peer, 'capacity', ...steps.map(String)]);
  t.same(r.probe, { shmmax: MiB, shmall: 512, shmmni: 3, pageSize: 4096 }, 'probeLimits() reports the namespace limits');
  const [tooBig, a, b, full, , stillFull, , c, d, tooMany] = r.steps;

  t.match(tooBig.podshm, { ok: false, name: 'SysVCapacityError', code: 'ENOSPC', limit: 'shmmax', requested: 2 * MiB });
  t.match(tooBig.podshm.message, /kernel\.shmmax.* 1048576 bytes \(1 MiB\).*sysctl -w kernel\.shmmax=2097152/);
  t.same(tooBig.kernel, { ok: false, code: 'EINVAL' }, 'the kernel refuses it too (EINVAL)');

  t.same([a.podshm, b.podshm], [{ ok: true }, { ok: true }], 'up to shmall exactly is fine');
  t.match(full.podshm, { ok: false, limit: 'shmall', sysv: { shmall: 512, pagesInUse: 512, segments: 2 } });
  t.match(full.podshm.message, /kernel\.shmall allows 512 pages .* 2 segments hold 512 pages, leaving 0 pages/);
  t.same(full.kernel, { ok: false, code: 'ENOSPC' });

  t.match(stillFull.podshm, { ok: false, limit: 'shmall' }, 'a removed segment still attached keeps its pages');
  t.same(stillFull.kernel, { ok: false, code: 'ENOSPC' });
  t.same([c.podshm, d.podshm], [{ ok: true }, { ok: true }], 'after the last detach they are free');

  t.match(tooMany.podshm, { ok: false, limit: 'shmmni', sysv: { shmmni: 3, segments: 3 } });
  t.match(tooMany.podshm.message, /already has 3 segments and kernel\.shmmni allows 3/);
  t.same(tooMany.kernel, { ok: false, code: 'ENOSPC' });
});

t.test('at the shmmni limit a taken key is still EEXIST, as the kernel says', { skip: noNamespaces }, async (t) => {
  const script = 'echo 1 > /proc/sys/kernel/shmmni && exec "$0" "$@"';
  t.same(await json('unshare', ['--ipc', 'sh', '-c', script, process.execPath, peer, 'eexist-at-limit']), ['EEXIST', 'shmmni']);
});

// A child memory cgroup with a limit, for one child process; removed afterwards.
function memoryCgroupFor(t, limit) {
  // Under AddressSanitizer node's own shadow memory fills a small cgroup (test/pod.mjs).
  if (process.env.PODSHM_SANITIZE) return { skip: 'under the sanitizer, node itself does not fit a small memory cgroup' };
  const cg = probeLimits().cgroup;
  if (!cg) return { skip: 'no memory cgroup mounted' };
  const dir = path.join(cg.dir, `podshm-sysv-${process.pid}-${randomInt(1e9)}`);
  try {
    fs.mkdirSync(dir);
  } catch (err) {
    return { skip: `cannot create a memory cgroup under ${cg.dir}: ${err.code}` };
  }
  t.teardown(() => fs.rmdirSync(dir));
  const limitFile = cg.version === 1 ? 'memory.limit_in_bytes' : 'memory.max';
  try {
    fs.writeFileSync(path.join(dir, limitFile), String(limit));
  } catch (err) {
    return { skip: `cannot set ${limitFile}: ${err.code}` };
  }
  return { dir, statFile: path.join(dir, 'memory.stat') };
}

t.test('the memory cgroup: a segment beyond its headroom is a CapacityError, one within is charged at create', async (t) => {
  const MiB = 1 << 20;
  const cg = memoryCgroupFor(t, 192 * MiB);
  if (cg.skip) return t.skip(cg.skip);
  const script = 'echo $$ > "$0/cgroup.procs" && exec "$@"';
  const r = await json('sh', ['-c', script, cg.dir, process.execPath, peer, 'cgroup', cg.statFile, String(512 * MiB), String(32 * MiB)]);

  t.match(r.big, { ok: false, name: 'SysVCapacityError', code: 'ENOSPC', limit: 'cgroup', measured: { cgroupLimit: 192 * MiB } });
  t.ok(r.big.measured.cgroupHeadroom < 192 * MiB, `headroom ${r.big.measured.cgroupHeadroom} is what the limit leaves`);
  t.match(r.big.message, /512 MiB: .*memory cgroup, which has .* left under its 192 MiB limit/);
  t.ok(
    r.small.charged >= 32 * MiB && r.small.charged < 33 * MiB,
    `create() pre-faulted the whole segment into this cgroup (its shmem charge grew by ${r.small.charged})`,
  );
  t.ok(r.small.rss >= 32 * MiB, 'and its pages are resident');
});

t.test('SysVCapacityError is a CapacityError', async (t) => {
  t.ok(SysVCapacityError.prototype instanceof CapacityError);
});

t.test('more than the machine has available is a CapacityError before shmget, not an OOM kill after it', async (t) => {
  const meminfo = fs.readFileSync('/proc/meminfo', 'utf8');
  const kib = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(meminfo)[1]) * 1024;
  // Twice all of RAM and swap: refused either way, so nothing is ever brought in; the
  // message says which check refused it.
  const size = 2 * (kib('MemTotal') + kib('SwapTotal'));
  // Segments this process made: other test files make theirs at the same time.
  const mine = () => SysVSharedMemory.list().filter((s) => s.creatorPid === process.pid).map((s) => s.shmid);
  const before = mine();
  const err = t.throws(() => SysVSharedMemory.create('private', size));
  t.ok(err instanceof SysVCapacityError);
  t.equal(err.limit, 'memory');
  t.match(err.message, /MemAvailable \+ SwapFree/, 'refused by the check, before shmget');
  t.same(mine(), before, 'no segment was made');
});

// The fix a CapacityError advises is one that works: for a grid of requests, tmpfs
// contents and working sets, the advised sizeLimit and memory limit pass the very check
// that refused (lib/capacity/advice.ts), and filling the advised emptyDir cannot push the
// container over its advised limit. Then the reported case for real: 250 MiB asked in a
// 256 MiB memory cgroup is refused, and granted under the advice it came with.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { internal } from '../internal.mjs';
import { fixture, run, uniqueName } from '../helpers.mjs';
import { memoryHierarchy } from '../pod.mjs';

const { advise, cgroupSlack, memoryLimitFor, refusal } = internal('capacity/advice');
const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const size = (n) => (n >= GiB ? `${n / GiB} GiB` : n >= MiB ? `${n / MiB} MiB` : `${n / KiB} KiB`);

t.test('memoryLimitFor() is the smallest whole MiB that holds the bytes beside its slack', async (t) => {
  // Around each bend of cgroupSlack (8 MiB up to a 128 MiB limit, 1/16 up to 4 GiB, then 256 MiB).
  const points = [0, 1, 4 * KiB, MiB, 119 * MiB, 120 * MiB, 120 * MiB + 1, 121 * MiB, 1000 * MiB, 3839 * MiB, 3840 * MiB, 3840 * MiB + 1, 3841 * MiB, 100 * GiB];
  let bad = 0;
  for (const bytes of points) {
    const limit = memoryLimitFor(bytes);
    const holds = limit - cgroupSlack(limit) >= bytes;
    const smallest = limit - MiB - cgroupSlack(limit - MiB) < bytes;
    if (limit % MiB !== 0 || !holds || !smallest) {
      bad++;
      t.fail(`${bytes} bytes: ${limit} (whole MiB ${limit % MiB === 0}, holds ${holds}, smallest ${smallest})`);
    }
  }
  t.equal(bad, 0, `${points.length} sizes`);
});

t.test('for every request, the advised sizeLimit and memory limit pass the check and survive a full emptyDir', async (t) => {
  const requests = [4 * KiB, MiB, 63 * MiB, 100 * MiB, 250 * MiB, GiB, 5 * GiB, 300 * GiB];
  const contents = [0, 10 * MiB, 200 * MiB, 3 * GiB];
  const workingSets = [0, 6 * MiB, 100 * MiB, 2 * GiB];
  const failures = [];
  for (const need of requests) {
    for (const used of contents) {
      for (const ws of workingSets) {
        const a = advise(need, used, ws);
        const what = `${size(need)} into a tmpfs holding ${size(used)}, working set ${size(ws)}: sizeLimit ${size(a.sizeLimit)}, limit ${size(a.memoryLimit)}`;
        if (a.sizeLimit % MiB !== 0 || a.memoryLimit % MiB !== 0) failures.push(`${what}: not whole MiB`);
        if (a.sizeLimit < used + need) failures.push(`${what}: the sizeLimit does not hold what is there and the request`);
        const after = refusal(need, { limited: true, free: a.sizeLimit - used, limit: a.memoryLimit, workingSet: ws });
        if (after !== null) failures.push(`${what}: still refused by the ${after}`);
        if (ws + (a.sizeLimit - used) > a.memoryLimit - cgroupSlack(a.memoryLimit)) failures.push(`${what}: filling the emptyDir would pass the limit's slack`);
        if (a.memoryLimit !== memoryLimitFor(ws + a.sizeLimit - used)) failures.push(`${what}: not the smallest limit that holds them`);
      }
    }
  }
  t.same(failures, [], `${requests.length * contents.length * workingSets.length} cases`);
  t.same(advise(MiB, 0, null), { sizeLimit: 2 * MiB, memoryLimit: null }, 'without a cgroup there is no working set to size a limit by');
});

// Root, a memory hierarchy we may make cgroups in, and private mounts; or why not.
async function cgroupSupport() {
  if (process.getuid?.() !== 0) return 'needs root for a memory cgroup and a private mount';
  const hierarchy = memoryHierarchy();
  if (typeof hierarchy === 'string') return hierarchy;
  const probe = await run('unshare', ['--mount', '--propagation', 'private', 'true']).catch((e) => ({ code: -1, stderr: e.message }));
  if (probe.code !== 0) return `unshare --mount not permitted here: ${probe.stderr.trim()}`;
  return hierarchy;
}

/** A memory cgroup of `limit` bytes under this process's own, removed at the end of `t`. */
function cgroup(t, { version, base }, tag, limit) {
  const dir = path.join(base, `podshm-test-advice-${process.pid}-${tag}-${limit}`);
  fs.mkdirSync(dir);
  t.teardown(() => fs.rmdirSync(dir));
  fs.writeFileSync(path.join(dir, version === 1 ? 'memory.limit_in_bytes' : 'memory.max'), String(limit));
  return dir;
}

t.test('the reported case in a real memory cgroup: 250 MiB in 256 MiB is refused, and fits under the advice', async (t) => {
  const hierarchy = await cgroupSupport();
  if (typeof hierarchy === 'string') return t.skip(hierarchy);
  // In `dir`, with a private /dev/shm (a tmpfs of `shmSize`) as a pod's emptyDir: create
  // and touch every page of `bytes`.
  const create = async (dir, shmSize, bytes) => {
    const script = `echo $$ > ${dir}/cgroup.procs && mount -t tmpfs -o size=${shmSize} tmpfs /dev/shm && exec "${process.execPath}" "${fixture('shm-peer.mjs')}" create ${uniqueName('advice')} ${bytes}`;
    const r = await run('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script]);
    t.equal(r.code, 0, `no OOM kill, no SIGBUS: ${r.signal ?? ''} ${r.stderr}`);
    return JSON.parse(r.stdout);
  };

  // A tmpfs far larger than the request: only the cgroup can refuse.
  const refused = await create(cgroup(t, hierarchy, 'posix', 256 * MiB), '1g', 250 * MiB);
  t.match(refused, { ok: false, name: 'CapacityError', code: 'ENOSPC', measured: { cgroupLimit: 256 * MiB } });
  t.notMatch(refused.message, /half/, 'no "sizeLimit at most half of it" that could not hold the request');
  const advised = /raise the memory limit to at least (\d+)Mi \(resources\.limits\.memory\) with a Memory emptyDir sizeLimit of (\d+)Mi/.exec(refused.message);
  t.ok(advised, `the fix names a memory limit and a sizeLimit: ${refused.message}`);
  const [memoryLimit, sizeLimit] = [Number(advised[1]) * MiB, Number(advised[2]) * MiB];
  t.ok(sizeLimit >= 250 * MiB, `the sizeLimit ${size(sizeLimit)} holds the request`);
  t.equal(refused.suggestedSizeLimit, sizeLimit, 'suggestedSizeLimit is the one in the message');
  t.ok(memoryLimit - cgroupSlack(memoryLimit) >= sizeLimit, `the memory limit ${size(memoryLimit)} holds the sizeLimit and its slack`);

  const granted = await create(cgroup(t, hierarchy, 'posix', memoryLimit), `${sizeLimit / MiB}m`, 250 * MiB);
  t.equal(granted.ok, true, `created and touched under the advice: ${granted.message ?? ''}`);
  t.equal(granted.limits.cgroup.limit, memoryLimit);
  t.equal(granted.limits.shm.size, sizeLimit);
});

t.test('a System V segment too big for a 256 MiB memory cgroup fits under the limit its error advises', async (t) => {
  const hierarchy = await cgroupSupport();
  if (typeof hierarchy === 'string') return t.skip(hierarchy);
  const esm = fileURLToPath(new URL('../../dist/esm/index.mjs', import.meta.url));
  // In `dir` and an IPC namespace of its own (the segment goes with it): create a private
  // segment of `bytes` (created segments are brought into memory) and touch it.
  const create = async (dir, bytes) => {
    const script = `import { SysVSharedMemory } from ${JSON.stringify(esm)};
      try {
        new Uint8Array(SysVSharedMemory.create('private', ${bytes}).buffer).fill(1);
        console.log(JSON.stringify({ ok: true }));
      } catch (err) {
        console.log(JSON.stringify({ ok: false, name: err.name, limit: err.limit, message: err.message }));
      }`;
    const r = await run('unshare', ['--ipc', 'sh', '-c', `echo $$ > ${dir}/cgroup.procs && exec "$@"`, 'sh', process.execPath, '--input-type=module', '-e', script]);
    t.equal(r.code, 0, `no OOM kill: ${r.signal ?? ''} ${r.stderr}`);
    return JSON.parse(r.stdout);
  };
  const refused = await create(cgroup(t, hierarchy, 'sysv', 256 * MiB), 250 * MiB);
  t.match(refused, { ok: false, name: 'SysVCapacityError', limit: 'cgroup' });
  const advised = /raise the memory limit to at least (\d+)Mi/.exec(refused.message);
  t.ok(advised, `the fix names a memory limit: ${refused.message}`);
  const granted = await create(cgroup(t, hierarchy, 'sysv', Number(advised[1]) * MiB), 250 * MiB);
  t.equal(granted.ok, true, `created and touched under the advised limit: ${granted.message ?? ''}`);
});

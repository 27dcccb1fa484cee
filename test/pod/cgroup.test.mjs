// Scenario 4: tmpfs pages are charged to the memory cgroup of the container that writes
// them. podshm refuses an object larger than the container's headroom, with the numbers,
// where a plain write into the same tmpfs gets the container OOM-killed. Only the
// container's processes are in the limited cgroup; the test runner is not.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { fixture, uniqueName } from '../helpers.mjs';
import { ask, MiB, podSupport, startPod } from '../pod.mjs';

const why = podSupport({ cgroup: true });

function cgroupNumber(dir, v1File, v2File) {
  const file = fs.existsSync(path.join(dir, v1File)) ? v1File : v2File;
  return Number(fs.readFileSync(path.join(dir, file), 'utf8').trim());
}

function oomKills(dir) {
  const file = fs.existsSync(path.join(dir, 'memory.oom_control')) ? 'memory.oom_control' : 'memory.events';
  return Number(/oom_kill (\d+)/.exec(fs.readFileSync(path.join(dir, file), 'utf8'))?.[1] ?? 0);
}

t.test('an object larger than the cgroup headroom is refused instead of an OOM kill', { skip: why ?? false }, async (t) => {
  const limit = 256 * MiB;
  const pod = await startPod({ emptyDir: 1024 * MiB });
  t.teardown(() => pod.close());
  const a = await pod.container('a', { memoryLimit: limit });
  const agent = a.fork(fixture('pod-agent.mjs'));
  t.match(await ask(agent, { op: 'ping' }), { ok: true });
  t.notOk(fs.readFileSync('/proc/self/cgroup', 'utf8').includes(path.basename(a.cgroup)), 'the test runner is not in the limited cgroup');

  const big = uniqueName('pod4big');
  const r = await ask(agent, { op: 'create', name: big, size: 300 * MiB });
  t.match(r, { ok: false, error: { name: 'CapacityError', requested: 300 * MiB, measured: { shmSize: 1024 * MiB, cgroupLimit: limit } } });
  t.ok(r.error.measured.cgroupHeadroom > 0 && r.error.measured.cgroupHeadroom < 300 * MiB, `headroom ${r.error.measured.cgroupHeadroom} reported`);
  t.match(r.error.message, /256 MiB limit/);
  t.match(r.error.message, /OOM kill/);
  t.match(await ask(agent, { op: 'ping' }), { ok: true }, 'the container lives');

  const before = cgroupNumber(a.cgroup, 'memory.usage_in_bytes', 'memory.current');
  const small = uniqueName('pod4small');
  t.match(await ask(agent, { op: 'create', name: small, size: 64 * MiB, fill: 3 }), { ok: true }, 'what fits the headroom is made');
  const after = cgroupNumber(a.cgroup, 'memory.usage_in_bytes', 'memory.current');
  t.ok(after - before >= 60 * MiB, `its pages are charged to the container's cgroup (${before} -> ${after})`);

  // The same request without podshm's check: a plain write into the tmpfs.
  const c = await pod.container('c', { memoryLimit: limit });
  const dd = await c.run('dd', ['if=/dev/zero', 'of=/dev/shm/plain-write', 'bs=1M', 'count=300']);
  t.not(dd.code, 0, `the plain writer did not finish (${dd.signal ?? `exit ${dd.code}`}): ${dd.stderr.trim().split('\n').pop()}`);
  t.ok(oomKills(c.cgroup) >= 1, "the OOM killer struck in that container's cgroup");
  t.equal(oomKills(a.cgroup), 0, 'and never in the one podshm guarded');
});

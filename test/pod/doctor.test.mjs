// Scenario 5 and the doctor's report inside simulated containers: `podshm doctor --json`
// states each container's own /dev/shm and memory limit exactly, and the text report of
// a default container (64 MiB /dev/shm, 256 MiB limit) gives an emptyDir that, applied,
// makes the doctor happy.
import { fileURLToPath } from 'node:url';
import t from 'tap';
import YAML from 'yaml';
import { run } from '../helpers.mjs';
import { MiB, podSupport, RUNTIME_SHM, startPod } from '../pod.mjs';

const why = podSupport({ cgroup: true });
const cli = fileURLToPath(new URL('../../dist/cjs/cli/main.js', import.meta.url));
// Kernel defaults of a new IPC namespace.
const FRESH_MQUEUE = { msgMax: 10, msgsizeMax: 8192, queuesMax: 256 };

async function doctorJson(t, container, ...args) {
  const r = await container.node([cli, 'doctor', '--json', ...args]);
  t.equal(r.stderr, '', `doctor in ${container.name} writes nothing to stderr`);
  return { code: r.code, report: JSON.parse(r.stdout) };
}

t.test('doctor --json in each container reports that container', { skip: why ?? false }, async (t) => {
  const host = JSON.parse((await run(process.execPath, [cli, 'doctor', '--json'])).stdout);
  const plain = await startPod();
  t.teardown(() => plain.close());
  const shared = await startPod({ emptyDir: 200 * MiB });
  t.teardown(() => shared.close());
  const cases = [
    { c: await plain.container('a', { memoryLimit: 256 * MiB }), pod: plain, shm: RUNTIME_SHM, code: 1, quantity: '128Mi' },
    { c: await plain.container('b', { shmSize: 32 * MiB }), pod: plain, shm: 32 * MiB, code: null, quantity: undefined },
    { c: await shared.container('c', { memoryLimit: 512 * MiB }), pod: shared, shm: 200 * MiB, code: 0, quantity: '256Mi' },
    { c: await shared.container('d', { memoryLimit: 128 * MiB }), pod: shared, shm: 200 * MiB, code: 1, quantity: '64Mi' },
  ];
  for (const { c, pod, shm, code, quantity } of cases) {
    const { code: exit, report } = await doctorJson(t, c);
    t.equal(report.schemaVersion, 2);
    t.equal(exit, report.exitCode, `${c.name}: exit status is the report's`);
    if (code !== null) t.equal(exit, code, `${c.name}: exit ${code}`);
    t.match(report.shm, { path: '/dev/shm', fsType: 'tmpfs', memoryBacked: true, size: shm, free: shm, used: 0, containerDefault: shm === RUNTIME_SHM, writable: true, error: null }, `${c.name}: its own /dev/shm`);
    if (c.memoryLimit === null) {
      t.equal(report.cgroup?.limit ?? null, host.cgroup?.limit ?? null, `${c.name}: no limit of its own, the runner's`);
    } else {
      t.match(report.cgroup, { limit: c.memoryLimit, dir: c.cgroup, limitDir: c.cgroup }, `${c.name}: its cgroup and limit`);
      t.ok(report.cgroup.headroom > 0 && report.cgroup.headroom <= c.memoryLimit - report.cgroup.workingSet, `${c.name}: headroom ${report.cgroup.headroom}`);
      t.match(report.emptyDir, { quantity, sizeLimit: c.memoryLimit / 2, memoryLimit: c.memoryLimit, ratio: 0.5 }, `${c.name}: its limit holds half of itself beside its working set`);
    }
    t.same(report.ipcNamespace, { id: pod.ipcNamespace, host: false }, `${c.name}: the pod's IPC namespace`);
    t.match(report.mqueue, FRESH_MQUEUE, `${c.name}: a new namespace's mqueue limits`);
    t.equal(report.kubernetes.detected, host.kubernetes.detected, `${c.name}: Kubernetes as the runner sees it`);
    t.equal(report.findings.some((f) => f.code === 'SHM_RUNTIME_DEFAULT'), shm === RUNTIME_SHM, `${c.name}: runtime default flagged iff 64 MiB`);
    t.equal(report.findings.some((f) => f.code === 'SHM_EXCEEDS_HEADROOM'), report.cgroup?.headroom != null && shm > report.cgroup.headroom, `${c.name}: OOM risk flagged iff the tmpfs exceeds the headroom`);
  }
  t.not(plain.ipcNamespace, shared.ipcNamespace, 'two pods, two IPC namespaces');
});

t.test('64 MiB /dev/shm and a 256 MiB limit: the report states both and its emptyDir works', { skip: why ?? false }, async (t) => {
  const pod = await startPod();
  t.teardown(() => pod.close());
  const c = await pod.container('app', { memoryLimit: 256 * MiB });
  const r = await c.node([cli, 'doctor'], { env: { COLUMNS: '100' } });
  t.equal(r.code, 1, 'warnings: exit 1');
  t.equal(r.stderr, '');
  t.match(r.stdout, /^podshm doctor: \d+ warnings?\n/);
  t.match(r.stdout, /\/dev\/shm\s+tmpfs, 64 MiB, 64 MiB free \(the container runtime's 64 MiB default\)/);
  t.match(r.stdout, /memory cgroup\s+v[12], limit 256 MiB,/);
  t.match(r.stdout, /warning\s+\/dev\/shm is the container runtime's private 64 MiB default/);
  t.ok(r.stdout.split('\n').every((l) => l.length <= 100), 'every line fits 100 columns');

  const yamlText = r.stdout.slice(r.stdout.indexOf('\nspec:\n') + 1);
  const doc = YAML.parse(yamlText);
  const volume = doc.spec.volumes[0];
  t.match(volume, { emptyDir: { medium: 'Memory', sizeLimit: '128Mi' } }, 'a Memory emptyDir of half the limit');
  t.match(doc.spec.containers[0].volumeMounts[0], { name: volume.name, mountPath: '/dev/shm' });

  // Apply it: a pod with that emptyDir and the same limit is healthy.
  const sizeLimit = Number(/^(\d+)Mi$/.exec(volume.emptyDir.sizeLimit)[1]) * MiB;
  const fixed = await startPod({ emptyDir: sizeLimit });
  t.teardown(() => fixed.close());
  const c2 = await fixed.container('app', { memoryLimit: 256 * MiB });
  const after = await doctorJson(t, c2);
  t.equal(after.code, 0, `healthy after the fix: ${after.report.findings.map((f) => f.code).join(', ')}`);
  t.equal(after.report.shm.size, 128 * MiB);
});

t.test('a /dev/shm where nothing can be created: exit 3', { skip: why ?? false }, async (t) => {
  const pod = await startPod();
  t.teardown(() => pod.close());
  const c = await pod.container('ro');
  const r = await c.run('sh', ['-c', `mount -t tmpfs -o ro,size=1m podshm-ro /dev/shm && exec "${process.execPath}" "${cli}" doctor --json`]);
  t.equal(r.code, 3, r.stderr);
  const report = JSON.parse(r.stdout);
  t.match(report, { status: 'unusable', exitCode: 3, shm: { exists: true, writable: false, error: /EROFS/ } });
  t.match(report.findings, [{ severity: 'error', code: 'SHM_UNWRITABLE' }]);
});

t.test('a full /dev/shm: exit 3 with ENOSPC; nearly full: a warning', { skip: why ?? false }, async (t) => {
  const pod = await startPod();
  t.teardown(() => pod.close());
  const c = await pod.container('full', { shmSize: 8 * MiB });
  t.equal((await c.run('dd', ['if=/dev/zero', 'of=/dev/shm/filler', 'bs=512K', 'count=15'])).code, 0);
  const nearly = await doctorJson(t, c);
  t.equal(nearly.code, 1);
  const warning = nearly.report.findings.find((f) => f.code === 'SHM_NEARLY_FULL');
  t.match(warning, { severity: 'warning', message: /512 KiB free of 8 MiB; run `podshm ls` and `podshm gc`/ });
  await c.run('sh', ['-c', 'cat /dev/zero >> /dev/shm/filler']);
  const full = await doctorJson(t, c);
  t.equal(full.code, 3);
  t.match(full.report, { status: 'unusable', shm: { free: 0, writable: false, error: /ENOSPC/ } });
  t.ok(full.report.findings.some((f) => f.code === 'SHM_UNWRITABLE' && f.severity === 'error'));
});

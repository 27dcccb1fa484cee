// Each finding of `podshm doctor` that depends on the kernel and the cgroup rather than on
// /dev/shm, produced for real: a new IPC namespace and its sysctls (unshare --ipc),
// RLIMIT_MSGQUEUE (prlimit), no memory cgroup (a private mount hiding it), and a memory
// cgroup of our own seen through a cgroup namespace (unshare --cgroup) the way a
// container sees its own: without a limit, with one, and nearly full.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { internal } from '../internal.mjs';
import { run } from '../helpers.mjs';
import { memoryHierarchy, MiB } from '../pod.mjs';

const cli = fileURLToPath(new URL('../../dist/cjs/cli/main.js', import.meta.url));
const root = process.getuid() === 0;
const HOST_IPC = 'ipc:[4026531839]';

// `podshm doctor --json` run as the last arguments of `command ...args`.
async function doctor(t, command, args) {
  const r = await run(command, [...args, process.execPath, cli, 'doctor', '--json']);
  t.equal(r.stderr, '', `doctor writes nothing on stderr (${command} ${args.join(' ')})`);
  const report = JSON.parse(r.stdout);
  t.equal(r.code, report.exitCode, "exit status is the report's");
  return { report, find: (code) => report.findings.find((f) => f.code === code) };
}
// The doctor run by a shell script, to which "$@" is the doctor's command line.
const inShell = (t, script) => doctor(t, 'sh', ['-c', script, 'sh']);

t.test('IPC_HOST: in the host IPC namespace, and only there', { skip: !root && 'needs root for unshare --ipc' }, async (t) => {
  const own = fs.readlinkSync('/proc/self/ns/ipc');
  const here = await inShell(t, 'exec "$@"');
  if (own === HOST_IPC) {
    t.match(here.find('IPC_HOST'), { severity: 'info', message: /host's IPC namespace \(ipc:\[4026531839\]\)/ }, 'this process is in the host namespace');
  } else {
    t.notOk(here.find('IPC_HOST'), `this process is in ${own}, not the host's`);
  }
  const fresh = await inShell(t, 'exec unshare --ipc "$@"');
  t.notOk(fresh.find('IPC_HOST'), 'a new IPC namespace is not the host');
  t.equal(fresh.report.ipcNamespace.host, false);
});

t.test('MQUEUE_DEFAULTS and SYSV_SHMMAX follow the IPC namespace sysctls', { skip: !root && 'needs root for unshare --ipc' }, async (t) => {
  const fresh = await inShell(t, 'exec unshare --ipc "$@"');
  t.match(fresh.report.mqueue, { msgMax: 10, msgsizeMax: 8192 }, "a new namespace's defaults");
  t.match(fresh.find('MQUEUE_DEFAULTS'), { severity: 'info', message: /at most 10 messages of 8 KiB \(the kernel defaults\).*raise them, to at most 65536 messages of 16 MiB \(the kernel's hard maxima\)\.$/ });
  t.notOk(fresh.find('SYSV_SHMMAX'), 'the default kernel.shmmax is larger than /dev/shm');

  const tuned = await inShell(t, 'exec unshare --ipc sh -c \'echo 64 > /proc/sys/fs/mqueue/msg_max && echo 1048576 > /proc/sys/kernel/shmmax && exec "$@"\' sh "$@"');
  t.equal(tuned.report.mqueue.msgMax, 64);
  t.notOk(tuned.find('MQUEUE_DEFAULTS'), 'a raised fs.mqueue.msg_max: no finding');
  t.equal(tuned.report.sysv.shmmax, 1048576);
  t.match(tuned.find('SYSV_SHMMAX'), { severity: 'info', message: /limited to 1 MiB each \(kernel\.shmmax\)/ }, 'kernel.shmmax below the size of /dev/shm');
});

t.test('MQUEUE_RLIMIT states the RLIMIT_MSGQUEUE the process runs with', async (t) => {
  for (const [bytes, shown] of [[12345, '12.1 KiB'], [65536, '64 KiB']]) {
    const r = await doctor(t, 'prlimit', [`--msgqueue=${bytes}:${bytes}`]);
    t.equal(r.report.mqueue.rlimitMsgqueue, bytes);
    t.match(r.find('MQUEUE_RLIMIT'), { severity: 'info', message: `RLIMIT_MSGQUEUE allows ${shown} of message queues per user.` });
  }
});

t.test('CGROUP_NONE where no memory cgroup is mounted', { skip: !root && 'needs root for a private mount' }, async (t) => {
  const r = await inShell(t, 'exec unshare --mount --propagation private sh -c \'mount -t tmpfs podshm-nocgroup /sys/fs/cgroup && exec "$@"\' sh "$@"');
  t.equal(r.report.cgroup, null);
  t.match(r.find('CGROUP_NONE'), { severity: 'info', message: /No memory cgroup found/ });
  t.notOk(r.find('CGROUP_NO_LIMIT'));
});

t.test('CGROUP_NO_LIMIT, a limit, and CGROUP_LOW_HEADROOM in a memory cgroup of our own', async (t) => {
  const hierarchy = memoryHierarchy();
  if (!root) return t.skip('needs root to make a memory cgroup');
  if (typeof hierarchy === 'string') return t.skip(hierarchy);
  const { version, base } = hierarchy;
  const dir = path.join(base, `podshm-test-doctor-${process.pid}`);
  const filler = path.join(dir, 'filler');
  try {
    fs.mkdirSync(dir);
    fs.mkdirSync(filler);
  } catch (err) {
    return t.skip(`cannot make a memory cgroup under ${base}: ${err.message}`);
  }
  t.teardown(() => {
    fs.rmdirSync(filler);
    fs.rmdirSync(dir);
  });
  const limitFile = path.join(dir, version === 1 ? 'memory.limit_in_bytes' : 'memory.max');
  // The doctor in `dir`, which its cgroup namespace shows as the root: the runner's own
  // cgroups above, limited or not, are out of its sight, as a container's are.
  const mount = version === 1
    ? 'mount -t tmpfs podshm-cgroups /sys/fs/cgroup && mkdir /sys/fs/cgroup/memory && mount -t cgroup -o memory podshm-memory /sys/fs/cgroup/memory'
    : 'mount -t cgroup2 podshm-cgroup2 /sys/fs/cgroup';
  const inside = `echo $$ > ${dir}/cgroup.procs && exec unshare --cgroup --mount --propagation private sh -c '${mount} && exec "$@"' sh "$@"`;

  const none = await inShell(t, inside);
  t.match(none.report.cgroup, { version, limit: null, headroom: null });
  t.match(none.find('CGROUP_NO_LIMIT'), { severity: 'info', message: `The memory cgroup (v${version}) sets no limit: shared memory is bounded by the node's memory. Set resources.limits.memory so a runaway writer is stopped at its container.` });

  fs.writeFileSync(limitFile, String(1024 * MiB));
  const roomy = await inShell(t, inside);
  t.match(roomy.report.cgroup, { version, limit: 1024 * MiB });
  t.notOk(roomy.find('CGROUP_NO_LIMIT'), 'a limit: no CGROUP_NO_LIMIT');
  t.notOk(roomy.find('CGROUP_LOW_HEADROOM'), `headroom ${roomy.report.cgroup.headroom}: not low`);
  t.match(roomy.report.emptyDir, { sizeLimit: 512 * MiB, memoryLimit: 1024 * MiB }, 'half the limit, which the limit holds beside the working set');

  // 924 MiB of tmpfs pages charged to a child cgroup (a private tmpfs that lives as long
  // as the doctor's mount namespace): at most 100 MiB are left for the doctor, under a
  // tenth of the limit whatever the doctor itself is charged.
  const full = await inShell(t, `exec unshare --mount --propagation private sh -c 'mount -t tmpfs -o size=1g podshm-fill /mnt && echo $$ > ${filler}/cgroup.procs && dd if=/dev/zero of=/mnt/fill bs=1M count=924 status=none && ${inside.replaceAll("'", "'\\''")}' sh "$@"`);
  t.equal(full.report.cgroup.limit, 1024 * MiB);
  t.ok(full.report.cgroup.headroom < 100 * MiB, `headroom ${full.report.cgroup.headroom} B`);
  t.match(full.find('CGROUP_LOW_HEADROOM'), { severity: 'warning', message: /^The memory cgroup has [\d.]+ MiB left of its 1 GiB limit: new shared memory will be refused\./ });
  t.equal(full.report.exitCode, 1, 'a warning: exit 1');

  // Half the limit no longer fits beside that working set: the advice says what does.
  const { cgroupSlack } = internal('capacity/advice');
  const { emptyDir, cgroup, shm } = full.report;
  const charged = cgroup.workingSet + emptyDir.sizeLimit - (shm.memoryBacked ? shm.used : 0);
  t.ok(emptyDir.memoryLimit > 1024 * MiB, `a memory limit above 1 GiB: ${emptyDir.memoryLimit}`);
  t.ok(emptyDir.memoryLimit - cgroupSlack(emptyDir.memoryLimit) >= charged, 'it holds the working set, the emptyDir and the slack');
  t.ok(emptyDir.memoryLimit - MiB - cgroupSlack(emptyDir.memoryLimit - MiB) < charged, 'and is the smallest whole MiB that does');
  const told = full.report.findings.filter((f) => f.message.includes(`raise this container's memory limit to at least ${emptyDir.memoryLimit / MiB}Mi`));
  t.ok(told.length > 0, `a finding says so: ${full.report.findings.map((f) => f.message).join(' | ')}`);
});

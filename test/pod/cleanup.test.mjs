// The pod simulation itself: close() and a SIGKILLed runner both leave no process, no
// mount on the host, and (after the next sweep) no cgroup.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import t from 'tap';
import { fixture, run } from '../helpers.mjs';
import { MiB, podSupport, startPod } from '../pod.mjs';

const why = podSupport({ cgroup: true });

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
// Host pids of every process in an IPC namespace.
const inNamespace = (ipc) =>
  fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      return fs.readlinkSync(`/proc/${p}/ns/ipc`) === ipc;
    } catch {
      return false;
    }
  });
const hostMounts = () => fs.readFileSync('/proc/self/mountinfo', 'utf8');

async function until(what, check, ms = 10_000) {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) if (check()) return true;
  throw new Error(`timed out waiting until ${what}`);
}

t.test('close() ends every process and removes the cgroup; the host sees no mount', { skip: why ?? false }, async (t) => {
  const pod = await startPod({ emptyDir: 16 * MiB });
  let closed = false;
  t.teardown(() => closed || pod.close());
  const c = await pod.container('c', { memoryLimit: 128 * MiB });
  const sleeper = c.spawn('sleep', ['1000'], { stdio: 'ignore' });
  t.ok(alive(pod.pid) && alive(c.pid) && alive(sleeper.pid));
  const ipc = pod.ipcNamespace;
  t.ok(fs.existsSync(c.cgroup));
  t.notOk(hostMounts().includes('podshm-emptydir'), 'the emptyDir is not mounted on the host');
  t.match((await c.run('grep', ['podshm-emptydir', '/proc/self/mountinfo'])).stdout, /\/dev\/shm/, 'but in the container');
  await pod.close();
  closed = true;
  t.notOk(alive(pod.pid) || alive(c.pid) || alive(sleeper.pid), 'no process left');
  t.same(inNamespace(ipc), [], "none in the pod's IPC namespace");
  t.notOk(fs.existsSync(c.cgroup), 'no cgroup left');
  await pod.close();
  t.pass('close twice is fine');
});

t.test('a SIGKILLed runner takes its pod along', { skip: why ?? false }, async (t) => {
  const runner = spawn(process.execPath, [fixture('pod-runner.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const started = await new Promise((resolve, reject) => {
    let out = '';
    runner.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(JSON.parse(out));
    });
    runner.once('exit', (code) => reject(new Error(`runner exited with ${code}`)));
  });
  const pids = [started.pod, started.init, started.agent, started.sleeper];
  t.ok(pids.every(alive), 'pod, container init, agent and sleeper run');
  await until('the pod has its processes', () => inNamespace(started.ipc).length >= 6);
  t.pass('the pod has its processes (pause, init, and two commands with their nsenter)');
  runner.kill('SIGKILL');
  await until('every process of the pod is gone', () => !pids.some(alive) && inNamespace(started.ipc).length === 0);
  t.pass('no process left in the pod\'s IPC namespace');
  t.notOk(hostMounts().includes('podshm-emptydir'), 'no mount on the host');
  // Its cgroup and pod directory outlive it; any pod started later (this test's, or one
  // in a test file running beside it) sweeps them, so only that end state is asserted.
  const dirs = () => fs.readdirSync(os.tmpdir()).filter((e) => e.startsWith(`podshm-pod-${runner.pid}-`));
  const pod = await startPod();
  t.teardown(() => pod.close());
  await pod.container('sweeper', { memoryLimit: 64 * MiB });
  t.notOk(fs.existsSync(started.cgroup), 'a later pod with a memory limit removed its cgroup');
  t.same(dirs(), [], 'and its directory');
});

t.test('without root, podSupport() gives the reason to skip', { skip: process.getuid() === 0 ? false : 'needs root to drop it' }, async (t) => {
  const podModule = new URL('../pod.mjs', import.meta.url).href;
  // env clears NODE_OPTIONS: tap's instrumentation would write its records as root's files.
  const r = await run('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', 'env', 'NODE_OPTIONS=', process.execPath, '--input-type=module', '-e',
    `import(${JSON.stringify(podModule)}).then((m) => console.log(JSON.stringify([m.podSupport(), m.podSupport({ cgroup: true })])))`,
  ]);
  t.equal(r.code, 0, r.stderr);
  t.same(JSON.parse(r.stdout), ['pod simulation needs root (mount, unshare, nsenter)', 'pod simulation needs root (mount, unshare, nsenter)']);
});

// The pod simulation itself: close() and a SIGKILLed runner both leave no process, no
// mount on the host, and (after the next sweep) no cgroup.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import t from 'tap';
import { fixture, run } from '../helpers.mjs';
import { MiB, podSupport, startPod } from '../pod.mjs';

const why = podSupport({ cgroup: true });

// State and start time from /proc/<pid>/stat (after the last ')': a command may hold one), or null once reaped.
const stat = (pid) => {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { state: f[0], start: f[19] };
  } catch {
    return null;
  }
};
const identify = (pid) => ({ pid, start: stat(pid)?.start });
// An exited process counts as gone before it is reaped: a dead runner's pod processes are
// orphans, reaped by this machine's init on its own schedule (the VM's PID 1 here, process_api,
// reaps about every 2 s). A start time that differs is a new process that was given the pid.
const running = ({ pid, start }) => {
  const s = stat(pid);
  return s !== null && s.start === start && s.state !== 'Z' && s.state !== 'X';
};
// Holds the IPC namespace of `pid` (expected to be `ipc`) open while a test waits for it to
// empty. A freed namespace's inode number goes to the next namespace created anywhere
// (lowest free first), so a pod a test file beside this one starts would be counted as this
// pod's; a held namespace keeps its number.
const holdNamespace = (t, pid, ipc) => {
  let fd = fs.openSync(`/proc/${pid}/ns/ipc`, 'r');
  const release = () => {
    if (fd === null) return;
    fs.closeSync(fd);
    fd = null;
  };
  t.teardown(release);
  if (fs.readlinkSync(`/proc/self/fd/${fd}`) !== ipc) throw new Error(`process ${pid} is no longer in ${ipc}`);
  return release;
};
// Host pids of every process in an IPC namespace (an exited process, a zombie too, is in none).
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
  const procs = [pod.pid, c.pid, sleeper.pid].map(identify);
  t.ok(procs.every(running));
  const ipc = pod.ipcNamespace;
  const release = holdNamespace(t, pod.pid, ipc);
  t.ok(fs.existsSync(c.cgroup));
  t.notOk(hostMounts().includes('podshm-emptydir'), 'the emptyDir is not mounted on the host');
  t.match((await c.run('grep', ['podshm-emptydir', '/proc/self/mountinfo'])).stdout, /\/dev\/shm/, 'but in the container');
  await pod.close();
  closed = true;
  t.notOk(procs.some(running), 'no process left');
  t.same(inNamespace(ipc), [], "none in the pod's IPC namespace");
  release();
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
  const procs = [started.pod, started.init, started.agent, started.sleeper].map(identify);
  t.ok(procs.every(running), 'pod, container init, agent and sleeper run');
  const release = holdNamespace(t, started.pod, started.ipc);
  await until('the pod has its processes', () => inNamespace(started.ipc).length >= 6);
  t.pass('the pod has its processes (pause, init, and two commands with their nsenter)');
  runner.kill('SIGKILL');
  await until('every process of the pod is gone', () => !procs.some(running) && inNamespace(started.ipc).length === 0);
  t.pass('no process left in the pod\'s IPC namespace');
  release();
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

// Pod simulation for the tests: real Linux namespaces and memory cgroups, shaped the way
// Kubernetes and the container runtimes shape a pod.
//
//   const why = podSupport({ cgroup: true });        // null, or the reason to skip
//   t.test('...', { skip: why ?? false }, async (t) => {
//     const pod = await startPod({ emptyDir: 128 * MiB });   // or startPod() for the default
//     t.teardown(() => pod.close());
//     const a = await pod.container('a', { memoryLimit: 256 * MiB });
//     const r = await a.run('sh', ['-c', 'df -B1 /dev/shm']);   // { code, signal, stdout, stderr }
//     const p = a.spawn(process.execPath, [script], { stdio: [..., 'ipc'] });  // a ChildProcess
//   });
//
// A pod is one IPC namespace (System V objects and POSIX message queues are pod-wide),
// held by a small "pause" process in its own private mount namespace. Each container is
// a long-lived init process (PID 1 of its own PID namespace, in its own mount namespace,
// in the pod's IPC namespace) with /dev/shm either
//   - its own tmpfs of `shmSize` bytes (default 64 MiB: what Docker, containerd and CRI-O
//     give a container), when the pod has no emptyDir, or
//   - the pod's one shared tmpfs (a Kubernetes emptyDir with medium: Memory and
//     sizeLimit = `emptyDir` bytes), bind-mounted at /dev/shm in every container.
// Every command a container runs (run/spawn) enters that container's mount, PID and IPC
// namespaces with nsenter, so what one command leaves in a private /dev/shm is there for
// the next one, exactly as in a real container. The pod's mqueue filesystem is mounted at
// `pod.mqueueDir` (a path every container sees).
//
// With `memoryLimit`, a container gets its own memory cgroup (a child of this process's
// one; cgroup v1 memory.limit_in_bytes, or v2 memory.max) and every command it runs is
// moved into it before it execs, so tmpfs pages it touches are charged there and an OOM
// kill hits the container, never the test runner.
//
// Nothing leaks: all mounts live only in private mount namespaces (the host never sees
// them); every process is started under PR_SET_PDEATHSIG and the pause and init processes
// also exit when their stdin pipe from this process closes, so even a SIGKILLed test
// runner takes its pods along; close() ends every process and removes every cgroup and
// directory, and later pods remove the cgroups and directories a killed runner left.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fixture } from './helpers.mjs';

export const MiB = 1024 * 1024;
/** The container runtimes' /dev/shm size. */
export const RUNTIME_SHM = 64 * MiB;

const CGROUP_PREFIX = 'podshm-test-';
let counter = 0;

function tool(name) {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    if (dir && fs.existsSync(path.join(dir, name))) return true;
  }
  return false;
}

/**
 * Why pods cannot be simulated here, or null when they can. With { cgroup: true } a
 * memory cgroup hierarchy we can create children in is required too.
 */
export function podSupport({ cgroup = false } = {}) {
  if (process.platform !== 'linux') return 'pod simulation needs Linux namespaces';
  if (process.getuid() !== 0) return 'pod simulation needs root (mount, unshare, nsenter)';
  for (const t of ['unshare', 'nsenter', 'setpriv', 'mount', 'sh']) {
    if (!tool(t)) return `pod simulation needs ${t} (util-linux) on PATH`;
  }
  const probe = spawnSync('unshare', ['--ipc', '--mount', '--pid', '--fork', '--propagation', 'private', '--mount-proc', 'sh', '-c',
    'mount -t tmpfs -o size=1m podshm-probe /dev/shm'], { encoding: 'utf8', timeout: 10_000 });
  if (probe.status !== 0) return `namespaces are not permitted here: ${(probe.stderr || probe.error?.message || 'unshare failed').trim()}`;
  if (cgroup) {
    const hierarchy = memoryHierarchy();
    if (typeof hierarchy === 'string') return hierarchy;
    const dir = path.join(hierarchy.base, `${CGROUP_PREFIX}probe-${process.pid}-${++counter}`);
    try {
      fs.mkdirSync(dir);
      fs.rmdirSync(dir);
    } catch (err) {
      return `cannot create a memory cgroup under ${hierarchy.base}: ${err.message}`;
    }
  }
  return null;
}

function mountinfo() {
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((line) => {
    const [left = '', right = ''] = line.split(' - ');
    const f = left.split(' ');
    const [fstype, , options = ''] = right.split(' ');
    return { root: f[3], point: f[4]?.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8))), fstype, options };
  });
}

/**
 * Where to create container cgroups: { version, base } or the reason there is none.
 * v1: under this process's memory cgroup. v2: under this process's cgroup when it may
 * delegate the memory controller to children, else next to it (the "no internal
 * processes" rule forbids both processes and controller-enabled children in one cgroup).
 */
export function memoryHierarchy() {
  // Under AddressSanitizer (scripts/test-sanitize.sh) every node process carries shadow
  // memory and a quarantine of hundreds of MiB: a small memory limit kills it first.
  if (process.env.PODSHM_SANITIZE) return 'under the sanitizer, node itself does not fit a small memory cgroup';
  const lines = fs.readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n').map((l) => l.split(':'));
  const v1 = lines.find((f) => f.length >= 3 && f[1].split(',').includes('memory'));
  const mounts = mountinfo();
  if (v1) {
    const m = mounts.find((x) => x.fstype === 'cgroup' && x.options.split(',').includes('memory'));
    if (!m) return 'the cgroup v1 memory hierarchy is not mounted';
    const rel = v1.slice(2).join(':');
    return { version: 1, base: path.join(m.point, rel.startsWith(m.root) ? rel.slice(m.root.length) : rel) };
  }
  const v2 = lines.find((f) => f[0] === '0' && f[1] === '');
  const m = mounts.find((x) => x.fstype === 'cgroup2');
  if (!v2 || !m) return 'no memory cgroup hierarchy (neither v1 memory nor cgroup2) is mounted';
  const own = path.join(m.point, v2.slice(2).join(':'));
  const read = (f) => {
    try {
      return fs.readFileSync(f, 'utf8');
    } catch {
      return '';
    }
  };
  if (!read(path.join(m.point, 'cgroup.controllers')).split(/\s+/).includes('memory')) {
    return 'the cgroup2 hierarchy has no memory controller';
  }
  if (read(path.join(own, 'cgroup.subtree_control')).split(/\s+/).includes('memory')) return { version: 2, base: own };
  if (own === m.point) {
    try {
      fs.writeFileSync(path.join(own, 'cgroup.subtree_control'), '+memory');
      return { version: 2, base: own };
    } catch (err) {
      return `cannot enable the memory controller in ${own}: ${err.message}`;
    }
  }
  if (fs.existsSync(path.join(own, 'memory.max'))) return { version: 2, base: path.dirname(own) };
  return `the memory controller is not enabled for ${own}`;
}

// Whether `entry` (named after its runner's pid by `pattern`) belongs to a dead runner.
function orphaned(entry, pattern) {
  const m = pattern.exec(entry);
  if (!m || Number(m[1]) === process.pid) return false;
  try {
    process.kill(Number(m[1]), 0);
    return false; // its runner is alive
  } catch (err) {
    return err.code === 'ESRCH';
  }
}

// Cgroups of runners that were killed before they could clean up.
function sweepStale(base) {
  for (const entry of fs.readdirSync(base)) {
    if (!orphaned(entry, /^podshm-test-(\d+)-/)) continue;
    try {
      fs.rmdirSync(path.join(base, entry));
    } catch {
      // still has processes: leave it to a later sweep
    }
  }
}

// Their pod directories (empty mount points: the mounts died with their namespaces).
function sweepStaleDirs() {
  for (const entry of fs.readdirSync(os.tmpdir())) {
    if (orphaned(entry, /^podshm-pod-(\d+)-/)) fs.rmSync(path.join(os.tmpdir(), entry), { recursive: true, force: true });
  }
}

// Every live pod, so an exiting runner can end what close() did not.
const live = new Set();
process.on('exit', () => {
  for (const pod of live) pod.killNow();
});

/** The host pid of `parent`'s only child (unshare --fork's child, PID 1 of the new namespace). */
function childOf(parent) {
  for (let i = 0; i < 200; i++) {
    try {
      const kids = fs.readFileSync(`/proc/${parent}/task/${parent}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
      if (kids.length > 0) return Number(kids[0]);
    } catch {
      // not there yet
    }
    spawnSync('sleep', ['0.01']);
  }
  throw new Error(`process ${parent} has no child`);
}

/** Starts a process that prints 'ready' once set up and exits when its stdin closes. */
function startHolder(command, args, what) {
  const child = spawn('setpriv', ['--pdeathsig', 'KILL', command, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => fail(new Error(`${what} did not start in 20 s: ${err.trim()}`)), 20_000);
    const fail = (e) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(e);
    };
    child.stderr.on('data', (d) => (err += d));
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('ready\n')) {
        clearTimeout(timer);
        child.stdout.removeAllListeners('data');
        child.stdout.resume();
        resolve(child);
      }
    });
    child.on('error', fail);
    child.on('exit', (code, signal) => fail(new Error(`${what} failed (${signal ?? `exit ${code}`}): ${err.trim()}`)));
  });
}

function exited(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

const q = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;

export class Pod {
  /** @internal use startPod() */
  constructor(holder, dir, emptyDir, mountPath = '/dev/shm') {
    /** Host pid of the pause process that holds the IPC namespace. */
    this.pid = holder.pid;
    /** The pod's IPC namespace, as readlink /proc/<pid>/ns/ipc shows it. */
    this.ipcNamespace = fs.readlinkSync(`/proc/${holder.pid}/ns/ipc`);
    /** Size of the shared Memory emptyDir in bytes, or null (each container has its own /dev/shm). */
    this.emptyDir = emptyDir;
    /** Where the containers see the emptyDir. */
    this.mountPath = mountPath;
    /** Where every container (and this process, through /proc/<pid>/root) sees the pod's POSIX message queues. */
    this.mqueueDir = path.join(dir, 'mqueue');
    this.containers = [];
    this.#holder = holder;
    this.#dir = dir;
    this.#closed = false;
    live.add(this);
  }

  #holder;
  #dir;
  #closed;

  /** A path in this (host) process's view for `p`, a path in the pod's view (its emptyDir, its mqueue dir). */
  hostPath(p) {
    return `/proc/${this.pid}/root${p}`;
  }

  /** The emptyDir's path seen from this process (null without emptyDir). */
  get emptyDirHostPath() {
    return this.emptyDir === null ? null : this.hostPath(path.join(this.#dir, 'emptydir'));
  }

  /**
   * Starts a container. Options: memoryLimit (bytes; a memory cgroup with that limit),
   * shmSize (bytes, the size of its own /dev/shm when the pod has no emptyDir; default 64 MiB).
   */
  async container(name, { memoryLimit = null, shmSize = RUNTIME_SHM } = {}) {
    if (this.#closed) throw new Error('pod is closed');
    if (memoryLimit !== null) {
      const h = memoryHierarchy();
      if (typeof h === 'string') throw new Error(h);
      sweepStale(h.base);
      const cgroup = path.join(h.base, `${CGROUP_PREFIX}${process.pid}-${++counter}-${name}`);
      fs.mkdirSync(cgroup);
      const c = new Container(this, name, cgroup, memoryLimit);
      this.containers.push(c); // so close() removes the cgroup whatever happens next
      fs.writeFileSync(path.join(cgroup, h.version === 1 ? 'memory.limit_in_bytes' : 'memory.max'), String(memoryLimit));
      // No swap either, so tmpfs pages cannot escape the limit (where swap accounting exists).
      const swap = path.join(cgroup, h.version === 1 ? 'memory.memsw.limit_in_bytes' : 'memory.swap.max');
      if (fs.existsSync(swap)) fs.writeFileSync(swap, h.version === 1 ? String(memoryLimit) : '0');
      await c.start(this.#initScript(shmSize));
      return c;
    }
    const c = new Container(this, name, null, null);
    this.containers.push(c);
    await c.start(this.#initScript(shmSize));
    return c;
  }

  #initScript(shmSize) {
    const own = `mount -t tmpfs -o size=${shmSize},mode=1777,nosuid,nodev shm /dev/shm`;
    const shared = `mount --bind ${q(path.join(this.#dir, 'emptydir'))} ${q(this.mountPath)}`;
    const shm = this.emptyDir === null ? own : this.mountPath === '/dev/shm' ? shared : `${own}; ${shared}`;
    // Like runc: where the host has a /dev/mqueue, the container's shows its own IPC namespace.
    const mqueue = 'if [ -d /dev/mqueue ]; then mount -t mqueue mqueue /dev/mqueue; fi';
    return `set -e; ${shm}; ${mqueue}; echo ready; read x || true`;
  }

  /** @internal the nsenter target for containers */
  get holderPid() {
    return this.#holder.pid;
  }

  /** Ends every container and the pod, removes cgroups and directories. Safe to call twice. */
  async close() {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(this.containers.map((c) => c.close()));
    this.#holder.stdin.end();
    const timer = setTimeout(() => this.#holder.kill('SIGKILL'), 5_000);
    await exited(this.#holder);
    clearTimeout(timer);
    for (const c of this.containers) await c.removeCgroup();
    fs.rmSync(this.#dir, { recursive: true, force: true });
    live.delete(this);
  }

  /** @internal synchronous last resort at process exit */
  killNow() {
    for (const c of this.containers) c.killNow();
    try {
      this.#holder.kill('SIGKILL');
    } catch {
      // gone
    }
  }
}

export class Container {
  /** @internal use pod.container() */
  constructor(pod, name, cgroup, memoryLimit) {
    this.pod = pod;
    this.name = name;
    /** The container's memory cgroup directory, or null. */
    this.cgroup = cgroup;
    /** Its memory limit in bytes, or null. */
    this.memoryLimit = memoryLimit;
    /** Host pid of the container's init process (PID 1 inside). */
    this.pid = null;
    this.#init = null;
    this.#children = new Set();
  }

  #init;
  #children;

  /** @internal */
  async start(script) {
    this.#init = await startHolder('sh', ['-c', `${this.#enterCgroup()}exec nsenter --target ${this.pod.holderPid} --ipc --mount -- ` +
      `unshare --mount --pid --fork --kill-child --mount-proc --propagation private -- sh -c ${q(script)}`], `container ${this.name}`);
    this.pid = childOf(this.#init.pid);
  }

  #enterCgroup() {
    return this.cgroup === null ? '' : `echo $$ > ${q(path.join(this.cgroup, 'cgroup.procs'))} && `;
  }

  /**
   * Starts `command` inside the container (its mount, PID and IPC namespaces and its
   * cgroup); returns the ChildProcess (any spawn options, e.g. stdio with 'ipc'). The
   * process is killed when the container closes.
   */
  spawn(command, args = [], options = {}) {
    if (this.#init === null) throw new Error(`container ${this.name} is closed`);
    const child = spawn('setpriv', ['--pdeathsig', 'KILL', 'sh', '-c',
      `${this.#enterCgroup()}exec nsenter --target ${this.pid} --mount --pid --ipc --wd=${q(options.cwd ?? '/')} -- "$@"`, 'sh', command, ...args],
    { ...options, cwd: undefined, detached: true, env: { ...process.env, ...options.env } });
    this.#children.add(child);
    child.once('exit', () => this.#children.delete(child));
    return child;
  }

  /**
   * Runs `command` to completion inside the container; resolves with
   * { code, signal, stdout, stderr }. Killed after timeoutMs (default 30 s).
   */
  run(command, args = [], { timeoutMs = 30_000, env, input, cwd } = {}) {
    return new Promise((resolve, reject) => {
      const child = this.spawn(command, args, { env, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => killGroup(child), timeoutMs);
      child.on('error', reject);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout, stderr });
      });
      // A command may exit before reading its input; that is its answer, not an error here.
      child.stdin.on('error', () => {});
      child.stdin.end(input ?? '');
    });
  }

  /**
   * Starts a Node script inside the container with an IPC channel (process.send and
   * 'message' work as with child_process.fork); see ask().
   */
  fork(script, args = [], options = {}) {
    return this.spawn(process.execPath, [script, ...args], { ...options, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  }

  /** Runs this Node with `args` (a script and its arguments) inside the container, like run(). */
  node(args, opts) {
    return this.run(process.execPath, args, opts);
  }

  /** Ends every process of the container (its PID namespace dies with its init). */
  async close() {
    const init = this.#init;
    if (init === null) return;
    this.#init = null;
    for (const child of this.#children) killGroup(child);
    init.stdin.end();
    const timer = setTimeout(() => init.kill('SIGKILL'), 5_000);
    await Promise.all([exited(init), ...[...this.#children].map(exited)]);
    clearTimeout(timer);
  }

  /** @internal */
  async removeCgroup() {
    if (this.cgroup === null) return;
    // Tasks leave a cgroup a moment after they exit.
    for (let i = 0; ; i++) {
      try {
        fs.rmdirSync(this.cgroup);
        return;
      } catch (err) {
        if (err.code === 'ENOENT') return;
        if (i === 100) throw new Error(`cannot remove cgroup ${this.cgroup}: ${err.message}`, { cause: err });
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** @internal */
  killNow() {
    for (const child of this.#children) killGroup(child);
    try {
      this.#init?.kill('SIGKILL');
    } catch {
      // gone
    }
    if (this.cgroup !== null) {
      try {
        fs.rmdirSync(this.cgroup);
      } catch {
        // a later startPod() sweeps it
      }
    }
  }
}

/**
 * Sends `message` to a forked child and resolves with its next message; rejects if the
 * child exits first or does not answer within timeoutMs (default 20 s).
 */
export function ask(child, message, timeoutMs = 20_000) {
  return new Promise((resolve, reject) => {
    let stderr = '';
    const onErr = (d) => (stderr += d);
    const done = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      child.stderr?.off('data', onErr);
    };
    const onMessage = (m) => {
      done();
      resolve(m);
    };
    const onExit = (code, signal) => {
      done();
      reject(new Error(`child exited (${signal ?? `code ${code}`}) before answering ${JSON.stringify(message)}: ${stderr.trim()}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`no answer to ${JSON.stringify(message)} in ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.stderr?.on('data', onErr);
    child.send(message);
  });
}

function killGroup(child) {
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/**
 * Starts a pod. Options: emptyDir (bytes): one Memory emptyDir of that size shared at
 * /dev/shm by every container; without it each container gets its own tmpfs.
 * mountPath: where the emptyDir is mounted instead of /dev/shm (an existing directory,
 * hidden only inside the containers); each container then has its own /dev/shm too.
 */
export async function startPod({ emptyDir = null, mountPath = '/dev/shm' } = {}) {
  sweepStaleDirs();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `podshm-pod-${process.pid}-`));
  fs.mkdirSync(path.join(dir, 'emptydir'));
  fs.mkdirSync(path.join(dir, 'mqueue'));
  const mounts = [`mount -t mqueue podshm-mqueue ${q(path.join(dir, 'mqueue'))}`];
  if (emptyDir !== null) mounts.push(`mount -t tmpfs -o size=${emptyDir},mode=1777,nosuid,nodev podshm-emptydir ${q(path.join(dir, 'emptydir'))}`);
  let holder;
  try {
    holder = await startHolder('unshare', ['--ipc', '--mount', '--propagation', 'private', '--', 'sh', '-c',
      `set -e; ${mounts.join('; ')}; echo ready; read x || true`], 'pod');
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return new Pod(holder, dir, emptyDir, mountPath);
}

/**
 * Starts fixtures/cgroup-filler.mjs with `args` inside memory cgroup `cg` (moved there
 * before node starts, so every page it touches is charged there), behind the command
 * `enter` (e.g. unshare, nsenter). The child gets `ready` (it said 'ready') and `done`
 * ({ code, signal, report }: its JSON line) promises.
 */
export function startFiller(cg, args, enter = []) {
  const child = spawn(enter[0] ?? 'sh', [...enter.slice(1), ...(enter.length > 0 ? ['sh'] : []), '-c', 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"', 'sh', cg, process.execPath, fixture('cgroup-filler.mjs'), ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.ready = new Promise((resolve, reject) => {
    child.stdout.on('data', () => out.includes('ready\n') && resolve());
    child.once('exit', () => reject(new Error(`filler exited before it was ready: ${out}`)));
  });
  child.done = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, report: out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l))[0] })));
  return child;
}

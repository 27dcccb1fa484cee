// What this process may use, measured, and the capacity policy built on it: refuse a
// request the tmpfs or the memory cgroup cannot hold, with the numbers and the fix,
// before the kernel answers with SIGBUS or the OOM killer.
import * as fs from 'node:fs';

import { memoryCgroup, type MemoryCgroup } from '../platform/cgroup';
import { CapacityError, sys } from '../core/errors';
import { mountOf } from '../platform/mountinfo';
import { advise, cgroupSlack, refusal, type Advice } from './advice';
import { options, pathString } from '../core/validate';

export const DEFAULT_SHM_DIR = '/dev/shm';
/** The size container runtimes (Docker, containerd, CRI-O) give /dev/shm. */
export const CONTAINER_DEFAULT_SHM = 64 * 1024 * 1024;

const MiB = 1024 * 1024;
const TMPFS_MAGIC = 0x01021994;
const RAMFS_MAGIC = 0x858458f6;

export interface ShmLimits {
  path: string;
  /** Filesystem type: 'tmpfs', 'ramfs' or the hex magic of anything else. */
  fsType: string;
  /** Whether pages written here are memory charged to the writer's cgroup. */
  memoryBacked: boolean;
  /**
   * False on ramfs and on a tmpfs mounted with size=0: no size limit, only memory (and
   * the memory cgroup) bounds them, and size, free and used read 0.
   */
  limited: boolean;
  size: number;
  free: number;
  used: number;
  /** True when this is the container runtime's 64 MiB default: that size, mounted from 'shm' (as runtimes do). */
  containerDefault: boolean;
}

/** POSIX message queue limits of this IPC namespace (/proc/sys/fs/mqueue) and user. */
export interface MqueueLimits {
  msgMax: number | null;
  msgsizeMax: number | null;
  queuesMax: number | null;
  msgDefault: number | null;
  msgsizeDefault: number | null;
  /** RLIMIT_MSGQUEUE soft limit in bytes; null when unlimited or unknown. */
  rlimitMsgqueue: number | null;
}

/** System V shared memory limits of this IPC namespace (/proc/sys/kernel/shm*). */
export interface SysvLimits {
  /** Largest segment, bytes. */
  shmmax: number | null;
  /** All segments together, in pages. */
  shmall: number | null;
  /** Number of segments. */
  shmmni: number | null;
  pageSize: number;
}

export interface Limits {
  shm: ShmLimits;
  cgroup: MemoryCgroup | null;
  mqueue: MqueueLimits;
  sysv: SysvLimits;
  /** The IPC namespace, as readlink /proc/self/ns/ipc shows it ('ipc:[4026531839]'). */
  ipcNamespace: string | null;
}

function procNumber(file: string): number | null {
  try {
    const n = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}

function rlimitMsgqueue(): number | null {
  try {
    const line = fs.readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max msgqueue size'));
    const soft = line?.slice('Max msgqueue size'.length).trim().split(/\s+/)[0];
    return soft === undefined || soft === 'unlimited' ? null : Number(soft);
  } catch {
    return null;
  }
}

export function probeMqueue(): MqueueLimits {
  const q = (f: string) => procNumber(`/proc/sys/fs/mqueue/${f}`);
  return {
    msgMax: q('msg_max'),
    msgsizeMax: q('msgsize_max'),
    queuesMax: q('queues_max'),
    msgDefault: q('msg_default'),
    msgsizeDefault: q('msgsize_default'),
    rlimitMsgqueue: rlimitMsgqueue(),
  };
}

// shmmax and shmall default to "unlimited" values near 2^64 that no JavaScript number holds exactly.
function sysvNumber(file: string): number | null {
  const n = procNumber(file);
  return n === null || n >= 2 ** 53 ? null : n;
}

export function probeSysv(): SysvLimits {
  return {
    shmmax: sysvNumber('/proc/sys/kernel/shmmax'),
    shmall: sysvNumber('/proc/sys/kernel/shmall'),
    shmmni: procNumber('/proc/sys/kernel/shmmni'),
    pageSize: 4096,
  };
}

function ipcNamespace(): string | null {
  try {
    return fs.readlinkSync('/proc/self/ns/ipc');
  } catch {
    return null;
  }
}

export function probeShm(dir: string = DEFAULT_SHM_DIR): ShmLimits {
  const st = sys(dir, () => fs.statfsSync(dir));
  const size = st.blocks * st.bsize;
  const free = st.bavail * st.bsize;
  const fsType = st.type === TMPFS_MAGIC ? 'tmpfs' : st.type === RAMFS_MAGIC ? 'ramfs' : '0x' + st.type.toString(16);
  return {
    path: dir,
    fsType,
    memoryBacked: st.type === TMPFS_MAGIC || st.type === RAMFS_MAGIC,
    limited: st.blocks > 0,
    size,
    free,
    used: size - st.bfree * st.bsize,
    // By size, and by source where mountinfo tells: runtimes mount their /dev/shm from
    // 'shm', a kubelet a Memory emptyDir from 'tmpfs', and one of 64Mi is no default.
    containerDefault: size === CONTAINER_DEFAULT_SHM && (mountOf(dir)?.source ?? 'shm') === 'shm',
  };
}

/** Measures what this process may use: shm directory, memory cgroup, mqueue and SysV limits. */
export function probeLimits(opts?: { dir?: string }): Limits {
  const dir = options<{ dir: string }>(opts, ['dir']).dir;
  return {
    shm: probeShm(dir === undefined ? DEFAULT_SHM_DIR : pathString('dir', dir)),
    cgroup: memoryCgroup(),
    mqueue: probeMqueue(),
    sysv: probeSysv(),
    ipcNamespace: ipcNamespace(),
  };
}

export function formatBytes(n: number): string {
  if (n >= 1024 * MiB && n % (1024 * MiB) === 0) return `${n / (1024 * MiB)} GiB`;
  if (n >= MiB) return scaled(n, MiB, 'MiB');
  if (n >= 1024) return scaled(n, 1024, 'KiB');
  return `${n} B`;
}

// One decimal, or as many as it takes (up to three) for a size that is not a whole
// number of units not to print as one: a channel of 64 MiB needs 64 MiB and a 4 KiB
// header, and "64 MiB requested, 64 MiB free" would read as a contradiction.
function scaled(n: number, unit: number, name: string): string {
  if (n % unit === 0) return `${n / unit} ${name}`;
  for (let digits = 1; digits <= 3; digits++) {
    const s = (n / unit).toFixed(digits);
    if (!s.endsWith('0'.repeat(digits))) return `${+s} ${name}`;
  }
  return `${n} B`;
}

/** Whole MiB, as a Kubernetes quantity. */
export function mebibytes(n: number): string {
  return `${Math.ceil(n / MiB)}Mi`;
}

/** The emptyDir volume and mount that give every container of a pod this /dev/shm. */
export function emptyDirSnippet(sizeLimit: number, mountPath = DEFAULT_SHM_DIR): string {
  return [
    'spec:',
    '  volumes:',
    '    - name: dshm',
    '      emptyDir:',
    '        medium: Memory',
    `        sizeLimit: ${mebibytes(sizeLimit)}`,
    '  containers:',
    '    - name: <each container that shares memory>',
    '      volumeMounts:',
    '        - name: dshm',
    `          mountPath: ${mountPath}`,
  ].join('\n');
}

function pageRound(n: number): number {
  return Math.ceil(n / 4096) * 4096;
}

interface Measured {
  shm: ShmLimits;
  cgroup: MemoryCgroup | null;
  need: number;
  advice: Advice;
}

function measure(requested: number, dir: string): Measured {
  const shm = probeShm(dir);
  const cgroup = memoryCgroup();
  const need = pageRound(requested);
  return { shm, cgroup, need, advice: advise(need, shm.used, cgroup?.workingSet ?? null) };
}

function numbers(m: Measured) {
  return {
    path: m.shm.path,
    shmSize: m.shm.size,
    shmFree: m.shm.free,
    cgroupLimit: m.cgroup?.limit ?? null,
    cgroupHeadroom: m.cgroup?.headroom ?? null,
  };
}

// Why the advised sizeLimit and memory limit are what they are, in the numbers measured.
function because(m: Measured): string {
  const { sizeLimit, memoryLimit } = m.advice;
  const now = m.shm.used > 0 ? `the ${formatBytes(m.shm.used)} it holds now and ` : '';
  const size = `the sizeLimit holds ${now}this request, with a quarter to spare`;
  if (memoryLimit === null) return `${size}; the memory limit must hold the sizeLimit beside the processes' own memory`;
  return (
    `${size}; the memory limit holds this container's working set (${formatBytes(m.cgroup!.workingSet)}), ` +
    `the ${formatBytes(sizeLimit - m.shm.used)} the emptyDir can still take, and ${formatBytes(cgroupSlack(memoryLimit))} for the processes' own memory`
  );
}

function memoryFix(m: Measured): string {
  const { memoryLimit } = m.advice;
  const current = m.cgroup?.limit ?? null;
  if (memoryLimit === null) return 'a container memory limit above it by what the processes themselves use';
  if (current !== null && current >= memoryLimit) return `a container memory limit of at least ${mebibytes(memoryLimit)} (this one's ${formatBytes(current)} is enough)`;
  return `a container memory limit of at least ${mebibytes(memoryLimit)} (resources.limits.memory)`;
}

function tmpfsFull(what: string, requested: number, m: Measured): CapacityError {
  const { shm, advice } = m;
  const which = shm.containerDefault ? ", the container runtime's 64 MiB default" : '';
  return new CapacityError(
    `Cannot create ${what} of ${formatBytes(requested)}: ${shm.path} has ${formatBytes(shm.free)} free of ` +
      `${formatBytes(shm.size)}${which}. Fix: give ${shm.path} more room; in Kubernetes mount a Memory ` +
      `emptyDir there with a sizeLimit of at least ${mebibytes(advice.sizeLimit)} and give every container that writes to it ` +
      `${memoryFix(m)} (${because(m)}):\n` +
      emptyDirSnippet(advice.sizeLimit, shm.path),
    requested,
    numbers(m),
    advice.sizeLimit,
  );
}

function cgroupFull(what: string, requested: number, m: Measured, cgroup: MemoryCgroup & { limit: number; headroom: number }): CapacityError {
  const { advice } = m;
  return new CapacityError(
    `Cannot create ${what} of ${formatBytes(requested)}: shared memory pages are charged to this ` +
      `container's memory cgroup, which has ${formatBytes(cgroup.headroom)} left under its ` +
      `${formatBytes(cgroup.limit)} limit (working set ${formatBytes(cgroup.workingSet)}; ${formatBytes(cgroupSlack(cgroup.limit))} of it ` +
      `stays for the processes' own memory), so writing it would ` +
      `end in an OOM kill. Fix: ask for less, or raise the memory limit to at least ${mebibytes(advice.memoryLimit!)} ` +
      `(resources.limits.memory) with a Memory emptyDir sizeLimit of ${mebibytes(advice.sizeLimit)} at ${m.shm.path} (${because(m)}).`,
    requested,
    numbers(m),
    advice.sizeLimit,
  );
}

/**
 * Throws CapacityError when `requested` bytes cannot be written into `dir` without
 * filling the tmpfs or pushing the memory cgroup over its limit.
 */
export function checkCapacity(what: string, requested: number, dir: string = DEFAULT_SHM_DIR): void {
  const m = measure(requested, dir);
  if (!m.shm.memoryBacked) return;
  const cg = m.cgroup;
  const refused = refusal(m.need, { limited: m.shm.limited, free: m.shm.free, limit: cg?.limit ?? null, workingSet: cg?.workingSet ?? null });
  if (refused === 'tmpfs') throw tmpfsFull(what, requested, m);
  if (refused === 'cgroup') throw cgroupFull(what, requested, m, { ...cg!, limit: cg!.limit!, headroom: cg!.headroom! });
}

/** The CapacityError for an ENOSPC that the kernel returned after checkCapacity passed (a race). */
export function noSpaceError(what: string, requested: number, dir: string): CapacityError {
  return tmpfsFull(what, requested, measure(requested, dir));
}

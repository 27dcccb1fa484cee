// The limits doctor: what this container can use for shared memory, what will go wrong,
// and the fix. The report is plain data with a stable shape (docs/cli.md); `podshm
// doctor` renders it, and programs can call diagnose() for health checks.
import * as fs from 'node:fs';

import { type MemoryCgroup } from '../platform/cgroup';
import { detectKubernetes, type KubernetesInfo } from '../platform/kubernetes';
import { memoryLimitFor } from '../capacity/advice';
import { HARD_MSGMAX, HARD_MSGSIZEMAX } from '../capacity/mq';
import { DEFAULT_SHM_DIR, emptyDirSnippet, formatBytes, mebibytes, probeLimits, probeShm, type MqueueLimits, type SysvLimits } from '../capacity/limits';
import { shmUsable } from '../platform/usability';
import { options, pathString } from '../core/validate';

export const DOCTOR_SCHEMA_VERSION = 2;
/** The share of the smallest container memory limit a Memory emptyDir should get. */
export const EMPTYDIR_RATIO = 0.5;
// The IPC namespace of the initial (host) namespace set, PROC_IPC_INIT_INO.
const HOST_IPC_NAMESPACE = 'ipc:[4026531839]';
// Kernel defaults of a new IPC namespace.
const MQ_DEFAULT_MSG_MAX = 10;
const MiB = 1024 * 1024;

export type Severity = 'error' | 'warning' | 'info';

export interface Finding {
  severity: Severity;
  /** Stable identifier, e.g. 'SHM_RUNTIME_DEFAULT' (docs/cli.md lists them). */
  code: string;
  message: string;
}

export interface ShmReport {
  path: string;
  /** Whether statfs succeeded. */
  exists: boolean;
  fsType: string | null;
  memoryBacked: boolean | null;
  limited: boolean | null;
  size: number | null;
  free: number | null;
  used: number | null;
  containerDefault: boolean | null;
  /** Whether an object could be created and a page reserved in it. */
  writable: boolean;
  /** Why not, as 'CODE: message', or null. */
  error: string | null;
}

export interface EmptyDirAdvice {
  /** Bytes: `ratio` of this container's memory limit (cgroup.limit), rounded down to whole MiB. */
  sizeLimit: number;
  /** The same as a Kubernetes quantity, e.g. '128Mi'. */
  quantity: string;
  /**
   * The memory limit this container needs beside that emptyDir: its working set, what the
   * emptyDir can still take, and cgroupSlack(). Its limit now when that holds them, more
   * when its working set leaves too little room.
   */
  memoryLimit: number;
  ratio: number;
  yaml: string;
}

export interface DoctorReport {
  schemaVersion: number;
  status: 'healthy' | 'warnings' | 'unusable';
  /** 0 healthy, 1 warnings, 3 unusable: the exit status of `podshm doctor` (2 is a usage error). */
  exitCode: 0 | 1 | 3;
  shm: ShmReport;
  cgroup: MemoryCgroup | null;
  mqueue: MqueueLimits;
  sysv: SysvLimits;
  ipcNamespace: { id: string | null; host: boolean | null };
  kubernetes: KubernetesInfo;
  findings: Finding[];
  /** The Memory emptyDir to mount at /dev/shm, or null without a memory limit to size it by. */
  emptyDir: EmptyDirAdvice | null;
}

function shmReport(dir: string): ShmReport {
  let s;
  try {
    // statfs works on any file; objects need a directory.
    if (!fs.statSync(dir).isDirectory()) throw new Error(`ENOTDIR: not a directory, ${dir}`);
    s = probeShm(dir);
  } catch (err) {
    const error = (err as Error).message;
    return { path: dir, exists: false, fsType: null, memoryBacked: null, limited: null, size: null, free: null, used: null, containerDefault: null, writable: false, error };
  }
  const failure = shmUsable(dir);
  return { ...s, exists: true, writable: failure === null, error: failure === null ? null : failure.message };
}

// Filling the emptyDir from this container charges it at most its working set plus what
// the emptyDir can still take (lib/capacity/advice.ts): the limit must hold that.
function emptyDirAdvice(cgroup: MemoryCgroup | null, mountPath: string, used: number): EmptyDirAdvice | null {
  if (cgroup?.limit == null || cgroup.limit < 2 * MiB) return null;
  const sizeLimit = Math.floor((cgroup.limit * EMPTYDIR_RATIO) / MiB) * MiB;
  const memoryLimit = Math.max(cgroup.limit, memoryLimitFor(cgroup.workingSet + Math.max(0, sizeLimit - used)));
  return { sizeLimit, quantity: mebibytes(sizeLimit), memoryLimit, ratio: EMPTYDIR_RATIO, yaml: emptyDirSnippet(sizeLimit, mountPath) };
}

/** ' (and a memory limit of ...)' when the emptyDir needs more than this container's limit. */
export function raiseLimit(e: EmptyDirAdvice, cgroup: MemoryCgroup | null): string {
  if (cgroup === null || cgroup.limit === null || e.memoryLimit <= cgroup.limit) return '';
  return `, and raise this container's memory limit to at least ${mebibytes(e.memoryLimit)}: its working set (${formatBytes(cgroup.workingSet)}) leaves too little room beside that emptyDir`;
}

function findings(r: Omit<DoctorReport, 'findings' | 'status' | 'exitCode' | 'schemaVersion'>): Finding[] {
  const out: Finding[] = [];
  const add = (severity: Severity, code: string, message: string) => out.push({ severity, code, message });
  const { shm, cgroup, mqueue, sysv } = r;
  const fix = r.emptyDir
    ? `mount a Memory emptyDir at ${shm.path} in every container that shares memory, sizeLimit ${r.emptyDir.quantity}${raiseLimit(r.emptyDir, cgroup)}`
    : `mount a Memory emptyDir at ${shm.path} in every container that shares memory, sized at most half the smallest memory limit of those containers and no more than each one's limit leaves beside its own memory`;

  if (!shm.exists) add('error', 'SHM_MISSING', `${shm.path} cannot be used: ${shm.error}. Fix: ${fix}.`);
  else if (!shm.writable) add('error', 'SHM_UNWRITABLE', `No shared memory object can be created in ${shm.path}: ${shm.error}.`);
  if (shm.exists && shm.memoryBacked === false) {
    add('warning', 'SHM_NOT_MEMORY', `${shm.path} is ${shm.fsType}, not tmpfs: objects there are files on disk, not memory. Fix: ${fix}.`);
  }
  if (shm.containerDefault) {
    add('warning', 'SHM_RUNTIME_DEFAULT', `${shm.path} is the container runtime's private 64 MiB default: other containers of the pod do not see objects made here, and 64 MiB fills fast. Fix: ${fix}.`);
  }
  if (shm.writable && shm.size !== null && shm.free !== null && shm.size > 0 && shm.free < shm.size / 10) {
    add('warning', 'SHM_NEARLY_FULL', `${shm.path} has ${formatBytes(shm.free)} free of ${formatBytes(shm.size)}; run \`podshm ls\` and \`podshm gc\` to see and reclaim what holds it.`);
  }
  if (cgroup === null) {
    add('info', 'CGROUP_NONE', 'No memory cgroup found: only the tmpfs size bounds shared memory.');
  } else if (cgroup.limit === null) {
    add('info', 'CGROUP_NO_LIMIT', `The memory cgroup (v${cgroup.version}) sets no limit: shared memory is bounded by the node's memory. Set resources.limits.memory so a runaway writer is stopped at its container.`);
  } else if (cgroup.headroom !== null) {
    if (shm.memoryBacked && shm.free !== null && (shm.limited === false || shm.free > cgroup.headroom)) {
      const room = shm.limited === false ? 'has no size limit' : `can take ${formatBytes(shm.free)} more`;
      add('warning', 'SHM_EXCEEDS_HEADROOM', `${shm.path} ${room}, but this container's memory cgroup has only ${formatBytes(cgroup.headroom)} of headroom under its ${formatBytes(cgroup.limit)} limit, and tmpfs pages are charged to the container that writes them: filling ${shm.path} from here ends in an OOM kill (podshm refuses such objects with a CapacityError). Fix: keep the emptyDir sizeLimit at or below half the smallest writer's memory limit${r.emptyDir ? ` (${r.emptyDir.quantity} here${raiseLimit(r.emptyDir, cgroup)})` : ''}.`);
    }
    if (cgroup.headroom < cgroup.limit / 10) {
      add('warning', 'CGROUP_LOW_HEADROOM', `The memory cgroup has ${formatBytes(cgroup.headroom)} left of its ${formatBytes(cgroup.limit)} limit: new shared memory will be refused. Raise resources.limits.memory or free memory.`);
    }
  }
  if (mqueue.msgMax !== null && mqueue.msgMax <= MQ_DEFAULT_MSG_MAX) {
    add('info', 'MQUEUE_DEFAULTS', `POSIX message queues hold at most ${mqueue.msgMax} messages of ${formatBytes(mqueue.msgsizeMax ?? 0)} (the kernel defaults); fs.mqueue.* are unsafe sysctls the kubelet must allow (--allowed-unsafe-sysctls) before a pod may raise them, to at most ${HARD_MSGMAX} messages of ${formatBytes(HARD_MSGSIZEMAX)} (the kernel's hard maxima).`);
  }
  if (mqueue.rlimitMsgqueue !== null) {
    add('info', 'MQUEUE_RLIMIT', `RLIMIT_MSGQUEUE allows ${formatBytes(mqueue.rlimitMsgqueue)} of message queues per user.`);
  }
  if (sysv.shmmax !== null && shm.size !== null && sysv.shmmax < shm.size) {
    add('info', 'SYSV_SHMMAX', `System V segments are limited to ${formatBytes(sysv.shmmax)} each (kernel.shmmax).`);
  }
  if (r.ipcNamespace.host) {
    add('info', 'IPC_HOST', `This process is in the host's IPC namespace (${HOST_IPC_NAMESPACE}): System V objects and message queues are shared with the whole machine${r.kubernetes.detected ? ' (hostIPC: true)' : ''}.`);
  }
  return out;
}

/** Measures this container (probeLimits) and judges it. */
export function diagnose(opts?: { dir?: string }): DoctorReport {
  const given = options<{ dir: string }>(opts, ['dir']).dir;
  const dir = given === undefined ? DEFAULT_SHM_DIR : pathString('dir', given);
  const shm = shmReport(dir);
  // probeLimits() statfs's its directory; without a usable one, measure the rest anyway.
  const { cgroup, mqueue, sysv, ipcNamespace } = probeLimits({ dir: shm.exists ? dir : '/' });
  const partial = {
    shm,
    cgroup,
    mqueue,
    sysv,
    ipcNamespace: { id: ipcNamespace, host: ipcNamespace === null ? null : ipcNamespace === HOST_IPC_NAMESPACE },
    kubernetes: detectKubernetes(),
    emptyDir: emptyDirAdvice(cgroup, dir, shm.memoryBacked ? (shm.used ?? 0) : 0),
  };
  const found = findings(partial);
  const status = found.some((f) => f.severity === 'error') ? 'unusable' : found.some((f) => f.severity === 'warning') ? 'warnings' : 'healthy';
  const exitCode = ({ healthy: 0, warnings: 1, unusable: 3 } as const)[status];
  return { schemaVersion: DOCTOR_SCHEMA_VERSION, status, exitCode, ...partial, findings: found };
}

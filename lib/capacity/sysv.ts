// Capacity policy for System V segments: the IPC namespace's limits (kernel.shmmax,
// shmall, shmmni, per namespace, so a pod has its own) and the memory cgroup that the
// creator's pre-fault charges, checked before shmget so a refusal carries the numbers
// and the fix instead of a bare EINVAL, ENOSPC or an OOM kill.
import * as fs from 'node:fs';

import { memoryCgroup, type MemoryCgroup } from '../platform/cgroup';
import { SysVCapacityError, type SysVCapacity } from '../core/errors';
import { cgroupSlack, memoryLimitFor } from './advice';
import { formatBytes, mebibytes, probeSysv } from './limits';
import { native } from '../addon/native';
import { listSegments, type SysVSegmentInfo } from '../platform/sysv_list';

const SYSCTL_HINT =
  'In Kubernetes kernel.shm* are unsafe sysctls: allow them on the kubelet ' +
  "(--allowed-unsafe-sysctls='kernel.shm*') and set them in the pod's securityContext.sysctls.";

const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

function pages(bytes: number, pageSize: number): number {
  return Math.ceil(bytes / pageSize);
}

function measure(): SysVCapacity {
  const limits = probeSysv();
  const pageSize = native.sysv.constants.pageSize;
  let segments: SysVSegmentInfo[] | null = null;
  try {
    segments = listSegments();
  } catch {
    // No /proc/sysvipc (procfs not mounted): the kernel's own checks still apply.
  }
  return {
    shmmax: limits.shmmax,
    shmall: limits.shmall,
    shmmni: limits.shmmni,
    segments: segments?.length ?? null,
    pagesInUse: segments?.reduce((sum, s) => sum + pages(s.size, pageSize), 0) ?? null,
    pageSize,
  };
}

function cgroupNumbers(cg: MemoryCgroup | null) {
  return cg === null ? null : { limit: cg.limit, headroom: cg.headroom };
}

function cgroupFull(verb: string, what: string, size: number, bytes: number, m: SysVCapacity, cg: MemoryCgroup) {
  const limit = cg.limit ?? 0;
  const headroom = cg.headroom ?? 0;
  // The segment with a quarter to spare, as an emptyDir's sizeLimit has: the working set moves.
  const neededLimit = memoryLimitFor(cg.workingSet + Math.ceil(bytes * 1.25));
  return new SysVCapacityError(
    `Cannot ${verb} ${what} of ${formatBytes(size)}: ${formatBytes(bytes)} of its pages would be charged to this ` +
      `container's memory cgroup, which has ${formatBytes(headroom)} left under its ${formatBytes(limit)} limit ` +
      `(working set ${formatBytes(cg.workingSet)}), so filling it would end in an OOM kill. Fix: use less, or raise the memory ` +
      `limit to at least ${mebibytes(neededLimit)} (resources.limits.memory: the working set, the segment's ` +
      `${formatBytes(bytes)} with a quarter to spare, and ${formatBytes(cgroupSlack(neededLimit))} for the processes' own memory).`,
    size,
    'cgroup',
    m,
    cgroupNumbers(cg),
  );
}

function overCgroup(cg: MemoryCgroup | null, bytes: number): cg is MemoryCgroup {
  return cg !== null && cg.limit !== null && cg.headroom !== null && bytes > cg.headroom - cgroupSlack(cg.limit);
}

/** What the machine can still give: MemAvailable + SwapFree, or null without /proc/meminfo. */
function memoryAvailable(): number | null {
  let text: string;
  try {
    text = fs.readFileSync('/proc/meminfo', 'utf8');
  } catch {
    return null;
  }
  const kib = (key: string): number | null => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : null;
  };
  const available = kib('MemAvailable');
  return available === null ? null : available + (kib('SwapFree') ?? 0);
}

// Without a cgroup limit (or under a large one), shmget takes up to all of RAM and swap
// (the default overcommit heuristic), and the pre-fault then brings in the OOM killer
// for the whole machine: this process, most likely, with its segment left behind.
function memoryFull(verb: string, what: string, size: number, bytes: number, m: SysVCapacity, cg: MemoryCgroup | null): SysVCapacityError | null {
  const available = memoryAvailable();
  if (available === null || bytes <= available) return null;
  return new SysVCapacityError(
    `Cannot ${verb} ${what} of ${formatBytes(size)}: ${formatBytes(bytes)} of it would have to be brought into memory, ` +
      `and this machine has ${formatBytes(available)} available (MemAvailable + SwapFree), so it would end in an OOM ` +
      `kill. Fix: use less, or run where there is more memory.`,
    size,
    'memory',
    m,
    cgroupNumbers(cg),
  );
}

/** Throws SysVCapacityError when a new segment of `size` bytes would not fit. */
export function checkSysVCapacity(what: string, size: number): void {
  const m = measure();
  const cg = memoryCgroup();
  const fail = (limit: SysVCapacityError['limit'], text: string) =>
    new SysVCapacityError(`Cannot create ${what} of ${formatBytes(size)}: ${text}`, size, limit, m, cgroupNumbers(cg));

  if (m.shmmax !== null && size > m.shmmax) {
    throw fail(
      'shmmax',
      `kernel.shmmax, the largest segment this IPC namespace allows, is ${m.shmmax} bytes (${formatBytes(m.shmmax)}). ` +
        `Fix: ask for at most that, or raise it (sysctl -w kernel.shmmax=${size}). ${SYSCTL_HINT}`,
    );
  }
  if (m.shmmni !== null && m.segments !== null && m.segments >= m.shmmni) {
    throw fail(
      'shmmni',
      `this IPC namespace already has ${count(m.segments, 'segment')} and kernel.shmmni allows ${m.shmmni}. ` +
        `Fix: remove segments nobody uses (SysVSharedMemory.list(), remove()) or raise kernel.shmmni. ${SYSCTL_HINT}`,
    );
  }
  const need = pages(size, m.pageSize);
  if (m.shmall !== null && m.segments !== null && m.pagesInUse !== null && m.pagesInUse + need > m.shmall) {
    const left = Math.max(0, m.shmall - m.pagesInUse);
    throw fail(
      'shmall',
      `kernel.shmall allows ${m.shmall} pages (${formatBytes(m.shmall * m.pageSize)}) for all segments of this IPC ` +
        `namespace; ${count(m.segments, 'segment')} hold ${count(m.pagesInUse, 'page')}, leaving ${count(left, 'page')} ` +
        `(${formatBytes(left * m.pageSize)}) and this needs ${need}. Fix: remove segments nobody uses or raise ` +
        `kernel.shmall to at least ${m.pagesInUse + need}. ${SYSCTL_HINT}`,
    );
  }
  const bytes = need * m.pageSize;
  if (overCgroup(cg, bytes)) throw cgroupFull('create', what, size, bytes, m, cg);
  const full = memoryFull('create', what, size, bytes, m, cg);
  if (full) throw full;
}

/**
 * Throws SysVCapacityError when the `missing` bytes of an existing segment that are
 * not in memory yet (it was not made by podshm) would not fit in this process's cgroup.
 */
export function checkAttachCapacity(what: string, size: number, missing: number): void {
  const cg = memoryCgroup();
  if (overCgroup(cg, missing)) throw cgroupFull('attach', what, size, missing, measure(), cg);
  const full = memoryFull('attach', what, size, missing, measure(), cg);
  if (full) throw full;
}

/**
 * The error for a refusal from shmget after the check passed: a race with another
 * creator (ENOSPC, EINVAL) or strict overcommit (ENOMEM).
 */
export function shmgetRefusal(what: string, size: number, code: string): SysVCapacityError | null {
  if (code === 'ENOMEM') {
    return new SysVCapacityError(
      `Cannot create ${what} of ${formatBytes(size)}: the kernel would not reserve that much memory ` +
        '(vm.overcommit_memory=2 and the CommitLimit reached?). Fix: free memory or ask for less.',
      size,
      'memory',
      measure(),
      cgroupNumbers(memoryCgroup()),
    );
  }
  if (code === 'ENOSPC' || code === 'EINVAL') {
    try {
      checkSysVCapacity(what, size);
    } catch (err) {
      if (err instanceof SysVCapacityError) return err;
      throw err;
    }
  }
  return null;
}

/**
 * The error for a pre-fault that failed: ENOMEM (memory ran out meanwhile) or EFAULT,
 * a page that cannot be had at all: a segment made with SHM_NORESERVE (huge pages
 * without a reservation, or strict overcommit), whose first touch would be a SIGBUS.
 */
export function populateRefusal(verb: string, what: string, size: number, code: string): SysVCapacityError | null {
  if (code !== 'ENOMEM' && code !== 'EFAULT') return null;
  const cg = memoryCgroup();
  const why =
    code === 'EFAULT'
      ? 'the kernel cannot provide its pages (a segment made with SHM_NORESERVE: huge pages without a ' +
        'reservation, or strict overcommit), so touching it would kill this process with SIGBUS. Fix: have its ' +
        'creator reserve the memory (no SHM_NORESERVE; enough vm.nr_hugepages for SHM_HUGETLB)'
      : 'its pages could not be allocated' +
        (cg?.headroom != null ? ` (memory cgroup headroom now ${formatBytes(cg.headroom)})` : '') +
        '. Fix: free memory, raise the limit, or use less';
  return new SysVCapacityError(
    `Cannot ${verb} ${what} of ${formatBytes(size)}: ${why}.`,
    size,
    code === 'ENOMEM' && cg?.headroom != null ? 'cgroup' : 'memory',
    measure(),
    cgroupNumbers(cg),
  );
}

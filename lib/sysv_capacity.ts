// Capacity policy for System V segments: the IPC namespace's limits (kernel.shmmax,
// shmall, shmmni, per namespace, so a pod has its own) and the memory cgroup that the
// creator's pre-fault charges, checked before shmget so a refusal carries the numbers
// and the fix instead of a bare EINVAL, ENOSPC or an OOM kill.
import { memoryCgroup, type MemoryCgroup } from './cgroup';
import { SysVCapacityError, type SysVCapacity } from './errors';
import { formatBytes, mebibytes, probeSysv } from './limits';
import { native } from './native';
import { listSegments, type SysVSegmentInfo } from './sysv_list';

const SYSCTL_HINT =
  'In Kubernetes kernel.shm* are unsafe sysctls: allow them on the kubelet ' +
  "(--allowed-unsafe-sysctls='kernel.shm*') and set them in the pod's securityContext.sysctls.";

const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

function pages(bytes: number, pageSize: number): number {
  return Math.ceil(bytes / pageSize);
}

function measure(): SysVCapacity {
  const limits = probeSysv();
  const pageSize = native.sysvConstants.pageSize;
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
  if (cg && cg.limit !== null && cg.headroom !== null && bytes > cg.headroom) {
    const neededLimit = Math.ceil(((cg.workingSet + bytes) * 1.25) / (1024 * 1024)) * 1024 * 1024;
    throw fail(
      'cgroup',
      `its pages are charged to this container's memory cgroup, which has ${formatBytes(cg.headroom)} left under ` +
        `its ${formatBytes(cg.limit)} limit (working set ${formatBytes(cg.workingSet)}), so filling it would end in ` +
        `an OOM kill. Fix: raise the memory limit to at least ${mebibytes(neededLimit)} (resources.limits.memory) ` +
        `or ask for less.`,
    );
  }
}

/**
 * The error for a refusal that came from the kernel after the check passed: a race
 * with another creator (ENOSPC, EINVAL), strict overcommit (shmget ENOMEM), or a
 * cgroup that filled up during the pre-fault (madvise ENOMEM).
 */
export function kernelRefusal(what: string, size: number, code: string, syscall: string): SysVCapacityError | null {
  if (code === 'ENOMEM') {
    const m = measure();
    const cg = memoryCgroup();
    const where =
      syscall === 'shmget'
        ? 'the kernel would not reserve that much memory (vm.overcommit_memory=2 and CommitLimit reached?)'
        : 'its pages could not be allocated and charged to this process while pre-faulting' +
          (cg?.headroom != null ? ` (memory cgroup headroom now ${formatBytes(cg.headroom)})` : '');
    return new SysVCapacityError(
      `Cannot create ${what} of ${formatBytes(size)}: ${where}. Fix: free memory, raise the limit, or ask for less.`,
      size,
      cg?.headroom != null && syscall !== 'shmget' ? 'cgroup' : 'memory',
      m,
      cgroupNumbers(cg),
    );
  }
  if (syscall === 'shmget' && (code === 'ENOSPC' || code === 'EINVAL')) {
    try {
      checkSysVCapacity(what, size);
    } catch (err) {
      if (err instanceof SysVCapacityError) return err;
      throw err;
    }
  }
  return null;
}

// The arithmetic behind a refusal and its fix: when shared memory fits, and what sizeLimit
// and memory limit would make a request fit. Pure, so that the advice can be checked
// against the very rule that refuses (test/shm/advice.test.mjs): a fix must be one that
// the check would then accept.

const MiB = 1024 * 1024;

const wholeMiB = (n: number) => Math.ceil(n / MiB) * MiB;

/**
 * Bytes of a memory cgroup's headroom that shared memory never takes: the processes of
 * the cgroup still allocate after a check (heap, stacks, exit), and with the last
 * tmpfs pages charged nothing could be reclaimed for them but by the OOM killer.
 * 1/16 of the limit, from 8 MiB to 256 MiB.
 */
export function cgroupSlack(limit: number): number {
  return Math.min(256 * MiB, Math.max(8 * MiB, Math.floor(limit / 16)));
}

/** The tmpfs and the memory cgroup as a check sees them; cgroup numbers null where there is no limit. */
export interface Room {
  /** Whether the tmpfs has a size limit (not ramfs, not size=0). */
  limited: boolean;
  /** Bytes the tmpfs can still take. */
  free: number;
  /** The memory cgroup's limit, or null. */
  limit: number | null;
  /** Its working set (usage minus inactive file cache), or null. */
  workingSet: number | null;
}

/** Which limit refuses `need` more bytes of tmpfs pages: 'tmpfs', 'cgroup', or null when they fit. */
export function refusal(need: number, room: Room): 'tmpfs' | 'cgroup' | null {
  if (room.limited && need > room.free) return 'tmpfs';
  if (room.limit !== null && room.workingSet !== null && need > room.limit - room.workingSet - cgroupSlack(room.limit)) return 'cgroup';
  return null;
}

/** The smallest memory limit, in whole MiB, that holds `bytes` and leaves cgroupSlack() of itself free. */
export function memoryLimitFor(bytes: number): number {
  // limit - cgroupSlack(limit) grows with limit; solved piece by piece (slack 8 MiB,
  // limit / 16, 256 MiB), then rounded up, which only adds room.
  let limit = wholeMiB(Math.max(bytes + 8 * MiB, Math.min(Math.ceil((bytes * 16) / 15), bytes + 256 * MiB)));
  while (limit - cgroupSlack(limit) < bytes) limit += MiB;
  return limit;
}

export interface Advice {
  /** The Memory emptyDir's sizeLimit, whole MiB: what the tmpfs holds now and the request, with a quarter to spare. */
  sizeLimit: number;
  /**
   * The memory limit, whole MiB, of a container that writes there: its working set now,
   * all the emptyDir can still take, and cgroupSlack(); null when the working set is unknown.
   */
  memoryLimit: number | null;
}

/**
 * What makes `need` more bytes fit in a tmpfs that holds `used` bytes, written by a
 * container whose working set is `workingSet`. Filling the emptyDir from here charges the
 * container at most its working set plus sizeLimit - used (pages already there were
 * charged when they were written, to it or to another container), so a memory limit
 * that holds that and the slack can never be pushed over by this emptyDir.
 */
export function advise(need: number, used: number, workingSet: number | null): Advice {
  const sizeLimit = wholeMiB((used + need) * 1.25);
  return { sizeLimit, memoryLimit: workingSet === null ? null : memoryLimitFor(workingSet + sizeLimit - used) };
}

// Serialises the capacity check and the reservation that follows it among the processes
// that share a memory limit. Two processes of one tight cgroup that check at once both
// see the same headroom, and reserving both pushed the cgroup into the OOM killer (tmpfs
// pages cannot be reclaimed without swap). Each holds an exclusive flock on the directory
// of the cgroup whose limit binds, from the check until its pages are charged, so the
// next one's check sees them. Every process of the cgroup can open that directory, in any
// container or PID namespace that shows it; where it cannot be opened there is no lock.
import { constants } from 'node:fs';

import { memoryCgroup } from '../platform/cgroup';
import { native } from '../addon/native';

// A holder keeps the lock for one fallocate (milliseconds). One that keeps it longer is
// stopped, frozen or hostile (any process of the cgroup may flock the directory): after
// this long the check goes ahead unserialised rather than wait on it.
const PATIENCE_MS = 5000;
const POLL_MS = 1;
const nap = new Int32Array(new SharedArrayBuffer(4));

/** Runs `check` and `reserve` with the limiting cgroup's lock held (when there is one). */
export function withCapacityLock<T>(run: () => T): T {
  const cgroup = memoryCgroup();
  if (cgroup === null || cgroup.limit === null) return run();
  let fd: number;
  try {
    fd = native.fd.open(cgroup.limitDir, constants.O_RDONLY | constants.O_DIRECTORY, 0);
  } catch {
    return run();
  }
  try {
    const deadline = performance.now() + PATIENCE_MS;
    while (!native.fd.tryFlock(fd) && performance.now() < deadline) Atomics.wait(nap, 0, 0, POLL_MS);
    return run();
  } finally {
    native.fd.close(fd);
  }
}

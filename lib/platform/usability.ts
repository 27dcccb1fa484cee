// Whether shared memory objects can really be made in a directory: stat says little
// about read-only mounts, permissions or a full tmpfs, so make an unnamed object there
// and reserve one page in it, the way SharedMemory.create would, and throw it away.
import { SystemError, sys } from '../core/errors';
import { native } from '../addon/native';

/** null when `dir` can hold a new object, else the SystemError that creating one met. */
export function shmUsable(dir: string): SystemError | null {
  let fd = -1;
  try {
    fd = sys(dir, () => native.shm.createUnnamed(dir, 0o600));
    sys(dir, () => native.shm.allocate(fd, 4096));
    return null;
  } catch (err) {
    if (err instanceof SystemError) return err;
    throw err;
  } finally {
    if (fd >= 0) native.fd.close(fd);
  }
}

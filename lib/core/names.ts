// POSIX IPC names (shm objects, message queues, named semaphores): one leading slash,
// no other slash, 1..NAME_MAX characters after it. 'frames' and '/frames' are the same.
import { SystemError } from './errors';
import { string } from './validate';

export const NAME_MAX = 255;

/** Returns the canonical '/name' form, or throws before any system call. */
export function posixName(value: unknown, syscall: string): string {
  const raw = string('name', value);
  const bare = raw.startsWith('/') ? raw.slice(1) : raw;
  if (bare.length === 0 || bare.includes('/') || bare === '.' || bare === '..' || bare.includes('\0')) {
    throw new SystemError('EINVAL', syscall, raw, `invalid name: use 1-${NAME_MAX} characters with no '/' after an optional leading '/'`);
  }
  if (Buffer.byteLength(bare) > NAME_MAX) {
    throw new SystemError('ENAMETOOLONG', syscall, raw, `name longer than ${NAME_MAX} bytes`);
  }
  return '/' + bare;
}

// Who may have made an object that podshm opens by name. Another user can create a
// name first (0666, under a name this process is about to use) and so read or forge
// everything sent through it: an object owned by anyone but this user or root is
// refused unless the caller says it expects one (allowForeignOwner). Checked with
// fstat on the descriptor just opened, so a name swapped after the check changes nothing.
import { SystemError } from './errors';
import { boolean } from './validate';

/** The allowForeignOwner option, checked. */
export function allowForeignOwner(value: unknown): boolean {
  return boolean('allowForeignOwner', value, false);
}

/** Throws EPERM when `uid` (the opened object's owner) is neither this user nor root, unless `allow`. */
export function checkOwner(uid: number, allow: boolean, syscall: string, object: string): void {
  if (allow) return;
  const self = process.geteuid?.() ?? uid;
  if (uid === self || uid === 0) return;
  throw new SystemError(
    'EPERM',
    syscall,
    object,
    `owned by uid ${uid}, not by this user (uid ${self}) or root: another user may have made it first; pass allowForeignOwner: true to use it anyway`,
  );
}

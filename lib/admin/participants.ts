// Who still uses a podshm object. Every participant holds an open-file-description lock
// on a byte of the object's file for as long as it is attached (docs/design.md, "Liveness"), so
// the locks on the file are the live participants, seen the same from every container
// and gone the moment a process dies however it dies. Where the byte lies is each
// layout's business; these functions look at the whole file.
import * as fs from 'node:fs';

import { removeBell } from '../channel/bell';
import { SystemError, sys } from '../core/errors';
import { heldLocks } from '../liveness/presence';
import { native } from '../addon/native';

// Lock offsets are exact JavaScript numbers: every participant's byte lies below this.
export const LOCK_SPACE = 2 ** 53;

/** Number of live participants: the lock ranges other open file descriptions hold on `file`. */
export function liveParticipants(file: string): number {
  const fd = sys(file, () => native.ofd.open(file, false));
  try {
    return heldLocks(fd, file, 0, LOCK_SPACE).length;
  } finally {
    native.ofd.close(fd);
  }
}

export type Collected = 'removed' | 'abandoned' | 'live' | 'gone';

/** Which file a listing saw under a name. */
export interface FileIdentity {
  dev: number;
  ino: number;
}

/**
 * Removes the object at `file` if, and only if, no participant is live, atomically: an
 * exclusive lock over the whole lock space is granted only when no other lock exists,
 * and while it is held no participant can claim a byte. 'live': someone holds a lock,
 * the object stays; 'abandoned': nobody does (dryRun: left in place, and only looked
 * at, so no participant attaching meanwhile is refused); 'removed'; 'gone': the name
 * disappeared or names another file than `expected` (what a listing saw: a new object
 * made under the name since was never judged).
 */
export function removeIfAbandoned(file: string, dryRun: boolean, expected?: FileIdentity): Collected {
  let fd: number;
  try {
    fd = sys(file, () => native.ofd.open(file, true));
  } catch (err) {
    if ((err as SystemError).code === 'ENOENT') return 'gone';
    throw err;
  }
  try {
    const held = fs.fstatSync(fd);
    if (expected && (held.ino !== expected.ino || held.dev !== expected.dev)) return 'gone';
    if (dryRun) return heldLocks(fd, file, 0, LOCK_SPACE).length === 0 ? 'abandoned' : 'live';
    if (!sys(file, () => native.ofd.lock(fd, 0, LOCK_SPACE, true))) return 'live';
    let named: fs.Stats;
    try {
      named = fs.lstatSync(file);
    } catch {
      return 'gone';
    }
    if (named.ino !== held.ino || named.dev !== held.dev) return 'gone';
    // The bell first: while the name still holds this object, no new channel can have
    // made a bell of its own under the bell's name.
    removeBell(file);
    sys(file, () => native.shm.unlink(file));
    return 'removed';
  } finally {
    native.ofd.close(fd);
  }
}

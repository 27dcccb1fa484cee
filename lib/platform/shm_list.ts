// The POSIX shared memory objects in a directory (/dev/shm or a Memory emptyDir), and
// what each one is, told by the magic word podshm writes first in every layout.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { MAGIC } from '../core/magic';

/** 'plain': not a podshm layout; 'unreadable': this user cannot open it to tell. */
export type ObjectKind = keyof typeof MAGIC | 'plain' | 'unreadable';

/** Kinds whose participants take liveness locks at all (a mutex: its owners), so ls can count them. */
export const COUNTS_PARTICIPANTS: ReadonlySet<ObjectKind> = new Set(['channel', 'mutex', 'topic']);

/**
 * Kinds whose layout registers every attached process with a liveness lock: only for
 * those does "no lock" mean "nobody uses it" (gc and rm judge no other).
 */
export const RECORDS_PARTICIPANTS: ReadonlySet<ObjectKind> = new Set(['channel', 'topic']);

export interface ShmObject {
  /** '/name', as SharedMemory.open takes it. */
  name: string;
  path: string;
  /** Bytes (st_size). */
  size: number;
  /** Bytes of memory the object holds (st_blocks * 512): less than size when sparse. */
  allocated: number;
  uid: number;
  gid: number;
  mode: number;
  /** Creation time, ms since the epoch. */
  birthtime: number;
  /** Which file this is (another object made under the name later has another). */
  dev: number;
  ino: number;
  kind: ObjectKind;
}

const KINDS = new Map<number, ObjectKind>(Object.entries(MAGIC).map(([kind, magic]) => [magic, kind as ObjectKind]));

/**
 * What `file` is, from its first 32-bit word; 'plain' for anything unknown or shorter,
 * 'unreadable' when this user may not open it (it may well be a live channel).
 */
export function objectKind(file: string): ObjectKind {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO planted under a name must not block a listing.
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'EACCES' || code === 'EPERM' ? 'unreadable' : 'plain';
  }
  try {
    if (!fs.fstatSync(fd).isFile()) return 'plain';
    const word = Buffer.alloc(4);
    if (fs.readSync(fd, word, 0, 4, 0) < 4) return 'plain';
    return KINDS.get(word.readUInt32LE(0)) ?? 'plain';
  } finally {
    fs.closeSync(fd);
  }
}

/** Every regular file in `dir`, sorted by name. Objects that vanish while listing are skipped. */
export function listShmObjects(dir: string): ShmObject[] {
  const out: ShmObject[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(dir, entry.name);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(file);
    } catch {
      continue;
    }
    out.push({ name: '/' + entry.name, path: file, size: st.size, allocated: st.blocks * 512, uid: st.uid, gid: st.gid, mode: st.mode & 0o7777, birthtime: st.birthtimeMs || st.ctimeMs, dev: st.dev, ino: st.ino, kind: objectKind(file) });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

// System V shared memory: segments found by a numeric key (or private ones, found by
// id), shared by every process of one IPC namespace. In Kubernetes all containers of
// a pod share the IPC namespace, so a segment is pod-wide whatever each container
// mounts at /dev/shm. Attached memory is a real SharedArrayBuffer.
import * as path from 'node:path';

import { argType, argValue, SystemError, sys } from '../core/errors';
import { Mapping } from '../addon/mapping';
import { native } from '../addon/native';
import { checkAttachCapacity, checkSysVCapacity, populateRefusal, shmgetRefusal } from '../capacity/sysv';
import { withCapacityLock } from '../capacity/lock';
import { fromNative, listSegments, type SysVSegmentInfo, type SysVSegmentStat } from '../platform/sysv_list';
import { boolean, integer, options, string } from '../core/validate';
import { refuseClone, revivable, type Handle } from '../core/handle';

/** A key: a number (what ftok() returns, or any agreed constant) or 'private' (IPC_PRIVATE). */
export type SysVKey = number | 'private';

/** Which segment to open: by key, or by id (the only way to reach a private segment). */
export type SysVTarget = number | { id: number };

export interface SysVCreateOptions {
  /** Permission bits (0o777 at most), applied exactly: SysV IPC ignores the umask. Default 0o600. */
  mode?: number;
  /** Fail with EEXIST if the key is taken (default). With false, an existing segment of at least `size` bytes is opened instead. */
  exclusive?: boolean;
}

export interface SysVOpenOptions {
  /** Fail with EINVAL unless the segment has at least this many bytes. */
  size?: number;
}

export interface SysVPermissions {
  mode?: number;
  uid?: number;
  gid?: number;
}

const { IPC_PRIVATE, IPC_CREAT, IPC_EXCL } = native.sysv.constants;
// Read and write, asked of shmget so a segment we may not use fails there with EACCES.
const READ_WRITE = 0o600;
// Largest SharedArrayBuffer that typed arrays can view in full on 64-bit V8.
const MAX_SIZE = 2 ** 53 - 1;
const MAX_ID = 2 ** 31 - 1;

/** key_t is a signed 32-bit int; ipcs prints it as unsigned hex, so both spellings are taken. */
function keyNumber(name: string, value: unknown): number {
  if (typeof value !== 'number') throw argType(name, "of type number or 'private'", value);
  if (!Number.isInteger(value) || value < -(2 ** 31) || value > 2 ** 32 - 1) {
    throw argValue(name, 'must be a 32-bit integer (-2147483648 to 4294967295)', value);
  }
  if (value === IPC_PRIVATE) throw argValue(name, "must not be 0, which is IPC_PRIVATE: pass 'private'", value);
  return value | 0;
}

function createKey(value: unknown): number {
  return value === 'private' ? IPC_PRIVATE : keyNumber('key', value);
}

function target(value: unknown): { key: number } | { id: number } {
  if (value === 'private') {
    throw argValue('key', "cannot be 'private' to open: a private segment has no key, open it by { id }", value);
  }
  if (value !== null && typeof value === 'object') {
    return { id: integer('id', (value as { id?: unknown }).id, 0, MAX_ID) };
  }
  return { key: keyNumber('key', value) };
}

// Keys as ipcs prints them.
const hex = (key: number) => `0x${(key >>> 0).toString(16).padStart(8, '0')}`;
const keyName = (key: number) => (key === IPC_PRIVATE ? 'shm private' : `shm key ${hex(key)}`);
const idName = (id: number) => `shm id ${id}`;
const description = (key: number) => (key === IPC_PRIVATE ? 'a private System V segment' : `System V segment ${hex(key)}`);

// shmctl and shmat answer EINVAL (or EIDRM) for an id that names nothing (any more).
function gone(err: unknown, id: number): unknown {
  const code = (err as SystemError).code;
  if (err instanceof SystemError && (code === 'EINVAL' || code === 'EIDRM')) {
    return new SystemError('ENOENT', err.syscall, idName(id), `no segment with id ${id} (removed?)`);
  }
  return err;
}

function byId<T>(id: number, call: () => T): T {
  try {
    return sys(idName(id), call);
  } catch (err) {
    throw gone(err, id);
  }
}

function findId(key: number, size: number): number {
  try {
    return sys(keyName(key), () => native.sysv.get(key, size, READ_WRITE));
  } catch (err) {
    if ((err as SystemError).code !== 'EINVAL' || size === 0) throw err;
    // The segment exists but is smaller than asked: say by how much.
    const id = sys(keyName(key), () => native.sysv.get(key, 0, READ_WRITE));
    const have = byId(id, () => native.sysv.stat(id)).size;
    throw new SystemError('EINVAL', 'shmget', keyName(key), `exists with ${have} bytes, fewer than the ${size} asked for`);
  }
}

/**
 * Derives a key from an existing file and a project id (1-255), exactly as the C
 * library's ftok(3) does, so a C program using the same path and id meets the same
 * segment. The key changes if the file is recreated (it uses the inode number).
 */
export function ftok(file: string, projId: number): number {
  string('path', file);
  if (file.length === 0 || file.includes('\0')) throw argValue('path', 'must be a non-empty path without NUL bytes', file);
  integer('projId', projId, 1, 255);
  return sys(file, () => native.sysv.ftok(path.resolve(file), projId));
}

export class SysVSharedMemory implements Disposable {
  /** The segment's id (shmid), unique in its IPC namespace while it exists. */
  readonly id: number;
  /** The key it was created or opened with; 0 for a private segment. */
  readonly key: number;
  /** Size in bytes, as the segment has it (for an opened segment, its full size). */
  readonly size: number;
  readonly #mapping: Mapping;

  private constructor(id: number, key: number, size: number, mapping: Mapping) {
    this.id = id;
    this.key = key;
    this.size = size;
    this.#mapping = mapping;
    refuseClone(this, 'SysVSharedMemory');
  }

  /**
   * Creates a segment of `size` bytes and attaches it. Every page is faulted in now
   * and charged to this process's memory cgroup, after checking shmmax, shmall, shmmni
   * and the cgroup's headroom, so a shortage is a CapacityError here and not an OOM
   * kill at some later first touch.
   */
  static create(key: SysVKey, size: number, opts?: SysVCreateOptions): SysVSharedMemory {
    const k = createKey(key);
    integer('size', size, 1, MAX_SIZE);
    const o = options<SysVCreateOptions>(opts, ['mode', 'exclusive']);
    const mode = o.mode === undefined ? 0o600 : integer('mode', o.mode, 0, 0o777);
    const exclusive = boolean('exclusive', o.exclusive, true);

    if (!exclusive && k !== IPC_PRIVATE) {
      const existing = tryOpen(k, size);
      if (existing) return existing;
    }
    // The check and the pre-fault that charges the pages run under the cgroup's lock, as
    // SharedMemory.create's do: two creators of one cgroup that checked at once would
    // both see the same headroom and both pre-fault into the OOM killer.
    const made = withCapacityLock(() => SysVSharedMemory.#createLocked(k, size, mode, exclusive));
    if (made instanceof SysVSharedMemory) return made;
    // Lost a race with another creator: use theirs. Outside the lock: open() takes it
    // to fill in a foreign segment, and a second flock of this process would wait on the first.
    const existing = tryOpen(k, size);
    if (existing) return existing;
    throw made.lost;
  }

  // create() with the capacity lock held; `{ lost }` when another creator took the key first.
  static #createLocked(k: number, size: number, mode: number, exclusive: boolean): SysVSharedMemory | { lost: unknown } {
    const name = keyName(k);
    try {
      checkSysVCapacity(description(k), size);
    } catch (err) {
      // The kernel says EEXIST before it looks at limits; so do we.
      if (k !== IPC_PRIVATE && keyExists(k)) throw new SystemError('EEXIST', 'shmget', name, 'a segment with this key exists');
      throw err;
    }
    let id: number;
    try {
      id = sys(name, () => native.sysv.get(k, size, IPC_CREAT | IPC_EXCL | mode));
    } catch (err) {
      const code = (err as SystemError).code;
      if (!exclusive && code === 'EEXIST') return { lost: err };
      throw shmgetRefusal(description(k), size, code) ?? err;
    }
    try {
      const mapping = new Mapping(byId(id, () => native.sysv.attach(id)));
      try {
        sys(name, () => native.sysv.populate(mapping.handle));
      } catch (err) {
        mapping.release();
        throw populateRefusal('create', description(k), size, (err as SystemError).code) ?? err;
      }
      return new SysVSharedMemory(id, k, size, mapping);
    } catch (err) {
      // Undo the segment, unless a peer attached it meanwhile (its key was visible from
      // shmget on, and pre-faulting a large one takes a while): that peer uses it.
      try {
        if (native.sysv.stat(id).attachCount === 0) native.sysv.remove(id);
      } catch {
        // Already removed by someone with the right to; nothing is left behind either way.
      }
      throw err;
    }
  }

  /**
   * Attaches an existing segment, by key or by `{ id }`. Its size comes from the
   * segment. Attaching is always read-write (a read-only attach would turn a stray
   * write from JavaScript into a crash), so it needs read and write permission.
   * Pages of the segment that are not in memory yet (it was made by another program)
   * are faulted in now, so one that cannot be had is an error here, not a SIGBUS later.
   */
  static open(which: SysVTarget, opts?: SysVOpenOptions): SysVSharedMemory {
    const t = target(which);
    const o = options<SysVOpenOptions>(opts, ['size']);
    const size = o.size === undefined ? 0 : integer('size', o.size, 0, MAX_SIZE);
    const id = 'id' in t ? t.id : findId(t.key, size);
    const mapping = new Mapping(byId(id, () => native.sysv.attach(id)));
    try {
      const actual = mapping.buffer.byteLength;
      if (actual < size) {
        throw new SystemError('EINVAL', 'shmat', idName(id), `has ${actual} bytes, fewer than the ${size} asked for`);
      }
      fillIn(mapping, id, actual, 'key' in t ? description(t.key) : `System V segment id ${id}`);
      const key = 'key' in t ? t.key : byId(id, () => native.sysv.stat(id)).key;
      return new SysVSharedMemory(id, key, actual, mapping);
    } catch (err) {
      mapping.release();
      throw err;
    }
  }

  /** Marks a segment for removal by key or `{ id }`, without attaching it (shmctl IPC_RMID). */
  static unlink(which: SysVTarget): void {
    const t = target(which);
    const id = 'id' in t ? t.id : sys(keyName(t.key), () => native.sysv.get(t.key, 0, 0));
    byId(id, () => native.sysv.remove(id));
  }

  /** Every segment in this IPC namespace (from /proc/sysvipc/shm, like `ipcs -m`). */
  static list(): SysVSegmentInfo[] {
    return listSegments();
  }

  /**
   * The memory itself, with no copy. After close() it reads as zeros in this process
   * (views stay safe to touch) and is unmapped once collected.
   */
  get buffer(): SharedArrayBuffer {
    return this.#mapping.buffer;
  }

  /** @internal The native handle, for primitives that wait on words of this memory. */
  get mapping(): Mapping {
    return this.#mapping;
  }

  get closed(): boolean {
    return this.#mapping.released;
  }

  /** shmctl(IPC_STAT): the segment as the kernel sees it now. Works after close() too, until the segment is gone. */
  stat(): SysVSegmentStat {
    return fromNative(this.id, byId(this.id, () => native.sysv.stat(this.id)));
  }

  /** shmctl(IPC_SET): changes the owner or the permission bits (owner, creator or root only). */
  setPermissions(perms: SysVPermissions): void {
    const p = options<SysVPermissions>(perms, ['mode', 'uid', 'gid']);
    const now = byId(this.id, () => native.sysv.stat(this.id));
    const mode = p.mode === undefined ? now.mode & 0o777 : integer('mode', p.mode, 0, 0o777);
    const uid = p.uid === undefined ? now.uid : integer('uid', p.uid, 0, 2 ** 32 - 2);
    const gid = p.gid === undefined ? now.gid : integer('gid', p.gid, 0, 2 ** 32 - 2);
    // Not byId: here EINVAL means an owner the kernel cannot map, not a missing segment.
    sys(idName(this.id), () => native.sysv.set(this.id, uid, gid, mode));
  }

  /**
   * Detaches this process (as shmdt does: the attach count drops at once). Views that
   * are still alive read zeros from then on instead of faulting. Safe to call twice.
   */
  close(): void {
    this.#mapping.release();
  }

  /**
   * shmctl(IPC_RMID), the unlink of a System V segment: the key is freed at once (a new
   * create() with it makes a new segment); the memory lives on until the last process detaches.
   */
  unlink(): void {
    byId(this.id, () => native.sysv.remove(this.id));
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * A plain object for a Worker, where fromHandle() attaches the segment again by its id
   * (docs/api.md, "Workers"); that works after unlink() too, while a process is attached.
   */
  handle(): SysVSharedMemoryHandle {
    if (this.#mapping.released) throw new SystemError('EBADF', 'shmat', idName(this.id), 'the segment is detached (closed) in this process');
    return { podshm: 'SysVSharedMemory', id: this.id };
  }

  static {
    revivable('SysVSharedMemory', ['id'], (h) => SysVSharedMemory.open({ id: integer('handle.id', h.id, 0, MAX_ID) }));
  }
}

/** What handle() of a SysVSharedMemory gives. */
export interface SysVSharedMemoryHandle extends Handle<SysVSharedMemory> {
  readonly podshm: 'SysVSharedMemory';
  readonly id: number;
}

function keyExists(key: number): boolean {
  try {
    native.sysv.get(key, 0, 0);
    return true;
  } catch {
    return false;
  }
}

// Segments made by podshm are fully in memory and cost nothing here. Another program's
// segment may not be: its pages are charged to this process as it faults them in.
function fillIn(mapping: Mapping, id: number, size: number, what: string): void {
  const missing = sys(idName(id), () => native.sysv.missingBytes(mapping.handle));
  if (missing === 0) return;
  // Under the cgroup's lock, like a creation: two openers checking at once would both fit.
  withCapacityLock(() => {
    checkAttachCapacity(what, size, missing);
    try {
      sys(idName(id), () => native.sysv.populate(mapping.handle));
    } catch (err) {
      throw populateRefusal('attach', what, size, (err as SystemError).code) ?? err;
    }
  });
}

function tryOpen(key: number, size: number): SysVSharedMemory | null {
  try {
    return SysVSharedMemory.open(key, { size });
  } catch (err) {
    if ((err as SystemError).code === 'ENOENT') return null;
    throw err;
  }
}

export type { SysVSegmentInfo, SysVSegmentStat };

// POSIX shared memory: named objects in /dev/shm (or any tmpfs directory, such as a
// Memory emptyDir mounted elsewhere), mapped as real SharedArrayBuffers.
import { constants } from 'node:fs';
import * as path from 'node:path';

import { SystemError, sys } from '../core/errors';
import { withCapacityLock } from '../capacity/lock';
import { checkCapacity, DEFAULT_SHM_DIR, noSpaceError } from '../capacity/limits';
import { Mapping } from '../addon/mapping';
import { posixName } from '../core/names';
import { native } from '../addon/native';
import { allowForeignOwner, checkOwner } from '../core/owner';
import { boolean, fileMode, integer, options, pathString } from '../core/validate';
import { openWhenCreated, WAIT_KEYS, type WaitForCreationOptions } from '../core/created';
import { fileFields, refuseClone, revivable, type FileHandleFields, type Handle } from '../core/handle';

export interface CreateOptions {
  /** Permission bits, applied exactly (not filtered by the umask). Default 0o600. */
  mode?: number;
  /** Fail with EEXIST if the name exists (default). With false, an existing object of at least `size` bytes is opened instead. */
  exclusive?: boolean;
  /** Directory of the tmpfs holding the object. Default /dev/shm. */
  dir?: string;
  /** With exclusive: false, open an existing object owned by another user (not root) instead of refusing it with EPERM. Default false. */
  allowForeignOwner?: boolean;
}

export interface OpenOptions extends WaitForCreationOptions {
  /** Map a private copy-on-write view: this process's writes stay its own and never reach the object. */
  readOnly?: boolean;
  /** Directory of the tmpfs holding the object. Default /dev/shm. */
  dir?: string;
  /** Open an object owned by another user (not root) instead of refusing it with EPERM. Default false. */
  allowForeignOwner?: boolean;
}

// Largest SharedArrayBuffer that typed arrays can view in full on 64-bit V8.
const MAX_SIZE = 2 ** 53 - 1;

export const DEFAULT_MODE = 0o600;

/** The file behind a canonical object name in `dir` (default /dev/shm). */
export function objectFile(canonical: string, dir: unknown): string {
  return path.join(directory(dir), canonical.slice(1));
}

function directory(value: unknown): string {
  if (value === undefined) return DEFAULT_SHM_DIR;
  return path.resolve(pathString('dir', value));
}

export class SharedMemory implements Disposable {
  /** The canonical name, with its leading slash. */
  readonly name: string;
  /** The file behind the object. */
  readonly path: string;
  /** The object's size in bytes (from fstat for an opened object). */
  readonly size: number;
  readonly readOnly: boolean;
  readonly #mapping: Mapping;

  /** @internal "dev:ino" of the file mapped: after an unlink, the name may be another file. */
  readonly fileId: string;

  /** @internal Whether the name still names the file this maps. */
  named(): boolean {
    let fd: number;
    try {
      fd = native.fd.open(this.path, constants.O_RDONLY, 0);
    } catch {
      return false;
    }
    try {
      return native.fd.stat(fd).fileId === this.fileId;
    } finally {
      native.fd.close(fd);
    }
  }

  private constructor(name: string, file: string, size: number, readOnly: boolean, mapping: Mapping, fileId: string) {
    this.name = name;
    this.path = file;
    this.size = size;
    this.readOnly = readOnly;
    this.#mapping = mapping;
    this.fileId = fileId;
    refuseClone(this, 'SharedMemory');
  }

  /**
   * Creates an object of `size` bytes, every page reserved up front, so a full tmpfs
   * is a CapacityError now and never a SIGBUS later. The object appears under its
   * name only once it is fully sized.
   */
  static create(name: string, size: number, opts?: CreateOptions): SharedMemory {
    const canonical = posixName(name, 'shm_open');
    integer('size', size, 1, MAX_SIZE);
    const o = options<CreateOptions>(opts, ['mode', 'exclusive', 'dir', 'allowForeignOwner']);
    const mode = o.mode === undefined ? DEFAULT_MODE : fileMode(o.mode);
    const exclusive = boolean('exclusive', o.exclusive, true);
    const foreign = allowForeignOwner(o.allowForeignOwner);
    const dir = directory(o.dir);
    const file = path.join(dir, canonical.slice(1));

    if (!exclusive) {
      const existing = tryOpenExisting(canonical, file, size, foreign);
      if (existing) return existing;
    }
    const fd = withCapacityLock(() => {
      checkCapacity(`shared memory '${canonical}'`, size, dir);
      const created = sys(canonical, () => native.shm.createUnnamed(dir, mode));
      try {
        reserve(created, size, canonical, dir);
      } catch (err) {
        native.fd.close(created);
        throw err;
      }
      return created;
    });
    try {
      const mapping = new Mapping(sys(canonical, () => native.mapping.map(fd, size, false)));
      try {
        sys(canonical, () => native.shm.publish(fd, file));
      } catch (err) {
        mapping.release();
        if (!exclusive && (err as SystemError).code === 'EEXIST') {
          // Lost a race with another creator: use theirs.
          const existing = tryOpenExisting(canonical, file, size, foreign);
          if (existing) return existing;
        }
        throw err;
      }
      return new SharedMemory(canonical, file, size, false, mapping, native.fd.stat(fd).fileId);
    } finally {
      native.fd.close(fd);
    }
  }

  /**
   * Opens an existing object; its size comes from the object, which is never resized.
   * With `wait: true`, resolves once another process has created it.
   */
  static open(name: string, opts: OpenOptions & { wait: true }): Promise<SharedMemory>;
  static open(name: string, opts?: OpenOptions & { wait?: false }): SharedMemory;
  static open(name: string, opts?: OpenOptions): SharedMemory | Promise<SharedMemory> {
    const o = options<OpenOptions>(opts, ['readOnly', 'dir', 'allowForeignOwner', ...WAIT_KEYS]);
    if (o.wait === true) {
      const existing = { readOnly: o.readOnly, dir: o.dir, allowForeignOwner: o.allowForeignOwner };
      return openWhenCreated(() => SharedMemory.#open(name, existing), path.dirname(objectFile(posixName(name, 'shm_open'), o.dir)), { timeout: o.timeout, signal: o.signal }, 'shm_open', name);
    }
    return SharedMemory.#open(name, o);
  }

  static #open(name: string, o: OpenOptions): SharedMemory {
    const canonical = posixName(name, 'shm_open');
    const readOnly = boolean('readOnly', o.readOnly, false);
    const foreign = allowForeignOwner(o.allowForeignOwner);
    const file = objectFile(canonical, o.dir);
    const fd = sys(canonical, () => native.fd.open(file, readOnly ? constants.O_RDONLY : constants.O_RDWR, 0));
    try {
      const st = sys(canonical, () => native.fd.stat(fd));
      if (!st.isFile) throw new SystemError('EINVAL', 'shm_open', canonical, 'not a shared memory object (not a regular file)');
      checkOwner(st.uid, foreign, 'shm_open', canonical);
      if (!readOnly && st.allocated < st.size) fillHoles(fd, canonical, st.size - st.allocated, st.size, path.dirname(file));
      if (st.size === 0) throw new SystemError('EINVAL', 'mmap', canonical, 'the object is empty (it was not made by SharedMemory.create)');
      const mapping = new Mapping(sys(canonical, () => native.mapping.map(fd, st.size, readOnly)));
      return new SharedMemory(canonical, file, st.size, readOnly, mapping, st.fileId);
    } finally {
      native.fd.close(fd);
    }
  }

  /** Removes the name; mappings stay valid until closed. ENOENT if there is no such object. */
  static unlink(name: string, opts?: { dir?: string }): void {
    const canonical = posixName(name, 'shm_unlink');
    const file = objectFile(canonical, options<{ dir: string }>(opts, ['dir']).dir);
    sys(canonical, () => native.shm.unlink(file));
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

  /**
   * Pages of this mapping that read as zeros because another process shrank the object
   * (ftruncate) under it. Touching them would be SIGBUS; podshm turns that into this count.
   */
  get lostPages(): number {
    return this.#mapping.lostPages;
  }

  get closed(): boolean {
    return this.#mapping.released;
  }

  /** Detaches this process from the object. Safe to call twice; the object itself stays. */
  close(): void {
    this.#mapping.release();
  }

  /** Removes the object's name (other processes that have it mapped keep it). */
  unlink(): void {
    sys(this.name, () => native.shm.unlink(this.path));
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * A plain object naming this object, to post to a Worker, where fromHandle() maps it
   * again (docs/api.md, "Workers"). ENOENT once the name is gone or names another file:
   * the worker could not find this one (its `buffer` can still be posted: a
   * SharedArrayBuffer is shared with the worker as it is).
   */
  handle(): SharedMemoryHandle {
    if (this.closed) throw new SystemError('EBADF', 'shm_open', this.name, 'the shared memory is closed');
    if (!this.named()) throw goneError(this.name, 'a worker cannot open this one by its name; post its buffer (a SharedArrayBuffer) for the memory alone');
    return { podshm: 'SharedMemory', name: this.name, dir: path.dirname(this.path), fileId: this.fileId, readOnly: this.readOnly };
  }

  /** @internal Opens the very file a handle names, or throws ENOENT. */
  static fromFile(f: FileHandleFields, readOnly: boolean): SharedMemory {
    // The owner was checked when the object was first opened: the fileId proves it is that file.
    const shm = SharedMemory.#open(f.name, { dir: f.dir, readOnly, allowForeignOwner: true });
    if (shm.fileId !== f.fileId) {
      shm.close();
      throw goneError(shm.name, 'the object the handle was made for was unlinked');
    }
    return shm;
  }

  static {
    revivable('SharedMemory', ['name', 'dir', 'fileId', 'readOnly'], (h) => SharedMemory.fromFile(fileFields(h), boolean('handle.readOnly', h.readOnly, false)));
  }
}

/** What handle() of a SharedMemory gives: where the object is, and which file it must be. */
export interface SharedMemoryHandle extends Handle<SharedMemory>, FileHandleFields {
  readonly podshm: 'SharedMemory';
  readonly readOnly: boolean;
}

function goneError(name: string, detail: string): SystemError {
  return new SystemError('ENOENT', 'shm_open', name, `the name is gone or names another object now: ${detail}`);
}

function reserve(fd: number, size: number, name: string, dir: string): void {
  try {
    sys(name, () => native.shm.allocate(fd, size));
  } catch (err) {
    // Someone else filled the tmpfs between the check and now.
    if ((err as SystemError).code === 'ENOSPC') throw noSpaceError(`shared memory '${name}'`, size, dir);
    throw err;
  }
}

// A sparse object (ftruncate'd by a C program, say): a write into a hole needs a page the
// tmpfs or the memory cgroup may not have, and would then be a SIGBUS that the fault
// guard can only turn into a lost page (the write lands in a private zero page). So the
// holes are reserved now, after checking that the tmpfs and the cgroup can hold them:
// a CapacityError here rather than writes that silently never reach the object.
function fillHoles(fd: number, name: string, missing: number, size: number, dir: string): void {
  withCapacityLock(() => {
    checkCapacity(`the unreserved part of shared memory '${name}'`, missing, dir);
    reserve(fd, size, name, dir);
  });
}

function tryOpenExisting(name: string, file: string, size: number, allowForeignOwner: boolean): SharedMemory | null {
  let shm: SharedMemory;
  try {
    shm = SharedMemory.open(name, { dir: path.dirname(file), allowForeignOwner });
  } catch (err) {
    if ((err as SystemError).code === 'ENOENT') return null;
    throw err;
  }
  if (shm.size < size) {
    shm.close();
    throw new SystemError('EINVAL', 'shm_open', name, `exists with ${shm.size} bytes, fewer than the ${size} asked for`);
  }
  return shm;
}

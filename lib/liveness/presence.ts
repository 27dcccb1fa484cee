// Participant liveness that crosses PID namespaces (docs/design.md, "Liveness"). A participant
// holds an exclusive open-file-description lock on one byte of the shared object's
// file, at an offset far beyond its data, through a descriptor it keeps open. The
// kernel drops the lock when that process dies however it dies, and any process that
// can open the file sees the same lock, whatever its PID namespace.

import { SystemError, sys } from '../core/errors';
import { native, type DeathWatchHandle, type MappingHandle } from '../addon/native';
import { integer, options, pathString } from '../core/validate';

/**
 * Lock-offset regions, one per kind of participant, so uses never collide. Offsets
 * stay below 2^53 (exact in a JavaScript number) and above any data size.
 */
export const LIVENESS_REGIONS = {
  /** Mutex owner tokens (lib/sync/mutex.ts): 2^30 one-byte slots. */
  mutexOwner: 2 ** 52,
  /** Channel participants (lib/channel/channel.ts). */
  channel: 2 ** 51,
  /** Topic publishers, then subscribers (lib/topic/peers.ts). */
  topic: 2 ** 50,
} as const;

/** The largest slot count (lock offsets must stay exact numbers). */
export const MAX_SLOTS = 2 ** 32;

export interface SlotRange {
  /** Lock offset of slot 0. */
  base: number;
  /** Number of slots. */
  slots: number;
}

export interface ClaimOptions extends SlotRange {
  /** Start the search for a free slot at a random one instead of 0 (for large, sparse ranges). */
  random?: boolean;
}

function slotRange(value: unknown): SlotRange {
  const o = options<ClaimOptions>(value, ['base', 'slots', 'random']);
  const base = integer('base', o.base, 0, 2 ** 53 - 1);
  const slots = integer('slots', o.slots, 1, MAX_SLOTS);
  integer('base + slots', base + slots, 0, 2 ** 53);
  return { base, slots };
}

/**
 * This process's claim on one slot. Holds a descriptor of the file (its own open file
 * description) until release(); a second claim in the same process is a different
 * participant and gets a different slot.
 */
export class Presence implements Disposable {
  readonly path: string;
  readonly slot: number;
  /** The lock offset: base + slot. */
  readonly offset: number;
  #fd: number;

  private constructor(path: string, slot: number, offset: number, fd: number) {
    this.path = path;
    this.slot = slot;
    this.offset = offset;
    this.#fd = fd;
  }

  /**
   * Takes the first free slot (from 0, or from a random one), or throws a
   * SystemError EAGAIN when every slot is locked by someone else.
   *
   * A slot that is taken is skipped together with the whole lock that covers it, so a
   * process that locks a vast range (a reader of a 0644 object may take shared locks
   * anywhere) costs two system calls, not one per slot.
   */
  static claim(path: string, opts: ClaimOptions): Presence {
    pathString('path', path);
    const { base, slots } = slotRange(opts);
    const random = (opts as ClaimOptions).random === true;
    const fd = sys(path, () => native.ofd.open(path, true));
    let shared = false;
    try {
      const start = random ? Math.floor(Math.random() * slots) : 0;
      for (const [from, to] of [[start, slots], [0, start]] as const) {
        for (let slot = from; slot < to; ) {
          if (sys(path, () => native.ofd.lock(fd, base + slot, 1, true))) return new Presence(path, slot, base + slot, fd);
          const lock = sys(path, () => native.ofd.conflict(fd, base + slot, 1));
          if (lock !== null && !lock.exclusive) shared = true;
          // A lock of length 0 reaches to the end of the file.
          slot = lock === null ? slot + 1 : lock.length === 0 ? to : Math.max(slot + 1, lock.start + lock.length - base);
        }
      }
    } catch (err) {
      native.ofd.close(fd);
      throw err;
    }
    native.ofd.close(fd);
    const why = shared ? ': some by shared locks, which only a process that may read the file but should not take part can hold (make the object 0600 or 0660)' : ' by live processes';
    throw new SystemError('EAGAIN', 'fcntl', path, `all ${slots} liveness slots from offset ${base} are locked${why}`);
  }

  get released(): boolean {
    return this.#fd < 0;
  }

  /** @internal "dev:ino" of the file this claim holds a lock on. */
  fileId(): string {
    return native.fd.stat(this.#fd).fileId;
  }

  /** Gives the slot up (closing the descriptor drops the lock). Safe to call twice. */
  release(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    native.ofd.close(fd);
  }

  [Symbol.dispose](): void {
    this.release();
  }
}

/**
 * Looks at the locks of one file through a read-only descriptor of its own, so it
 * also sees the claims of this very process. Keep one open where checks are frequent.
 */
export class LivenessProbe implements Disposable {
  readonly path: string;
  #fd: number;

  constructor(path: string) {
    this.path = pathString('path', path);
    this.#fd = sys(path, () => native.ofd.open(path, false));
  }

  /** @internal "dev:ino" of the file this probe looks at. */
  fileId(): string {
    return native.fd.stat(this.#open()).fileId;
  }

  /**
   * Whether a live participant holds the byte at this lock offset. Participants hold
   * exclusive locks; a shared one is what any reader of the file can take (a 0644
   * object), and never makes a participant look alive.
   */
  isAlive(offset: number): boolean {
    integer('offset', offset, 0, 2 ** 53 - 1);
    return sys(this.path, () => native.ofd.conflict(this.#open(), offset, 1))?.exclusive === true;
  }

  /**
   * @internal Starts a death watch (native/death_watch.cc) of lock offsets [start,
   * start + length) through this probe's file: once no participant holds any of them,
   * it wakes the sleepers of the word at `byteOffset` of the mapping, as
   * lib/liveness/watch.ts describes. null if no thread could be started.
   */
  watchDeath(start: number, length: number, handle: MappingHandle, byteOffset: number, flagOffset: number, from: number, to: number, bellFd: number): DeathWatchHandle | null {
    return native.deathWatch.start(this.#open(), start, length, handle, byteOffset, flagOffset, from, to, bellFd);
  }

  /** The held slots of a range, ascending. */
  liveSlots(range: SlotRange): number[] {
    const { base, slots } = slotRange(range);
    const live: number[] = [];
    for (const [start, end, exclusive] of heldLocks(this.#open(), this.path, base, base + slots)) {
      if (!exclusive) continue; // a reader's, as in isAlive()
      for (let offset = start; offset < end; offset++) live.push(offset - base);
    }
    return live.sort((a, b) => a - b);
  }

  close(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    native.ofd.close(fd);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #open(): number {
    if (this.#fd < 0) throw new SystemError('EBADF', 'fcntl', this.path, 'the liveness probe is closed');
    return this.#fd;
  }
}

/**
 * The locks that other open file descriptions hold on lock offsets [from, to) of the
 * file behind `fd`, as [start, end, exclusive] ranges clipped to it. F_OFD_GETLK reports one
 * conflicting lock, not necessarily the lowest, so the range is split around each
 * lock found: about two system calls per lock, plus one.
 */
export function heldLocks(fd: number, path: string, from: number, to: number): Array<[number, number, boolean]> {
  const held: Array<[number, number, boolean]> = [];
  const todo: Array<[number, number]> = [[from, to]];
  while (todo.length > 0) {
    const [a, b] = todo.pop()!;
    const lock = sys(path, () => native.ofd.conflict(fd, a, b - a));
    if (lock === null) continue;
    const start = Math.max(lock.start, a);
    // A lock of length 0 reaches to the end of every range.
    const end = lock.length === 0 ? b : Math.min(lock.start + lock.length, b);
    held.push([start, end, lock.exclusive]);
    if (a < start) todo.push([a, start]);
    if (end < b) todo.push([end, b]);
  }
  return held;
}

/**
 * A mapped object's file: its name, and which file the mapping is of ("dev:ino", when
 * known). Locks are taken through the name; once it names another file (the object was
 * unlinked, perhaps made again), a claim there would make a phantom participant of the
 * other object, and a probe there would take live participants of this one for dead.
 */
export interface MappedFile {
  readonly path: string;
  readonly fileId?: string;
}

function checkSameFile(file: MappedFile, held: { fileId(): string; release?(): void; close?(): void }): void {
  if (file.fileId === undefined || held.fileId() === file.fileId) return;
  held.release?.();
  held.close?.();
  throw new SystemError('ENOENT', 'open', file.path, 'the name was unlinked (it is gone or names another file now): open the object again');
}

/** @internal Presence.claim() on the file a mapping is of; ENOENT if its name has moved on. */
export function claimOn(file: MappedFile, opts: ClaimOptions): Presence {
  const presence = Presence.claim(file.path, opts);
  checkSameFile(file, presence);
  return presence;
}

/** @internal A LivenessProbe of the file a mapping is of; ENOENT if its name has moved on. */
export function probeOn(file: MappedFile): LivenessProbe {
  const probe = new LivenessProbe(file.path);
  checkSameFile(file, probe);
  return probe;
}

/** The held slots of a range of the file at `path`. */
export function liveSlots(path: string, range: SlotRange): number[] {
  using probe = new LivenessProbe(path);
  return probe.liveSlots(range);
}

/** Whether a live participant holds the lock offset `offset` of the file at `path`. */
export function isAlive(path: string, offset: number): boolean {
  using probe = new LivenessProbe(path);
  return probe.isAlive(offset);
}

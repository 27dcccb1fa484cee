// Robust mutexes on shared memory, across processes and PID namespaces. Layout: one
// Int32 word, 4-byte aligned: 0 when free, else the owner's token (bits 0-29) plus
// WAITERS (bit 30) once someone may sleep on it. A token is a liveness slot
// (lib/liveness/presence.ts) that the owning Mutex object holds an OFD lock on, so a waiter can
// ask the kernel whether the owner still exists, whatever its PID namespace, and take
// the mutex over from a dead one (reported like pthread's EOWNERDEAD).
import { AbortError, CorruptionError, SystemError, argType } from '../core/errors';
import { FutexWord, checkRange, closedError, mappingOf, type WaitOptions, type WaitSyncOptions } from '../wait/futex';
import { LIVENESS_REGIONS, claimOn, probeOn, type LivenessProbe, type MappedFile, type Presence } from '../liveness/presence';
import { PeerWatch } from '../liveness/watch';
import { MAGIC } from '../core/magic';
import type { Mapping } from '../addon/mapping';
import { BODY_OFFSET, NAMED_CREATE_KEYS, createNamed, openNamed, type NamedCreateOptions, type NamedOpenOptions } from '../shm/named_segment';
import { posixName } from '../core/names';
import { SharedMemory } from '../shm/shared_memory';
import { abortSignal, deadlineOf, remaining, timeoutMs } from '../core/timeout';
import { runAsync, runSync, type WaitOp } from '../wait/loop';
import { options } from '../core/validate';
import { refuseClone, revivable } from '../core/handle';
import { PRIMITIVE_KEYS, primitiveHandle, revivePrimitive, type PrimitiveHandle } from './handle';

/** Memory that is a file, so owners can be checked through locks on it (a SharedMemory). */
export interface FileMappedMemory extends MappedFile {
  readonly mapping: Mapping;
}

/** The mapping of `memory`, checked to be a file's. */
function fileMapping(memory: unknown): Mapping {
  const mapping = mappingOf(memory);
  if (typeof (memory as FileMappedMemory).path !== 'string') {
    throw argType('memory', 'a SharedMemory (memory that is a file: owners are checked through locks on it)', memory);
  }
  return mapping;
}

const WAITERS = 1 << 30;
const OWNER = WAITERS - 1;
const TOKENS = { base: LIVENESS_REGIONS.mutexOwner, slots: OWNER, random: true } as const;
// The longest a waiter sleeps without looking at the owner when its death cannot be
// watched (no death-watch thread could start).
const CHECK_MS = 200;
const MUTEX = { magic: MAGIC.mutex, what: 'mutex', syscall: 'mutex_open' };

export class Mutex implements Disposable {
  /** Bytes a mutex takes in shared memory. */
  static readonly SIZE = 4;

  readonly #i32: Int32Array;
  readonly #index: number;
  readonly #offset: number;
  readonly #word: FutexWord;
  readonly #presence: Presence;
  readonly #probe: LivenessProbe;
  // A waiter sleeps with the owner's slot watched: the owner's end clears WAITERS from
  // the word slept on (only if it still names that owner) and wakes every sleeper.
  readonly #watch: PeerWatch;
  readonly #token: number;
  #held = false;
  #busy = false;
  #ownerDied = false;
  // Set for a named mutex: the segment this object owns.
  #own: SharedMemory | null = null;

  /**
   * Attaches to a mutex that Mutex.init() laid out at `offset`. Each Mutex object is
   * one owner (it holds one liveness slot and one descriptor of the file until close()).
   */
  constructor(memory: FileMappedMemory, offset: number) {
    refuseClone(this, 'Mutex');
    this.#memory = memory;
    const mapping = fileMapping(memory);
    this.#offset = checkRange(mapping, offset, Mutex.SIZE);
    this.#i32 = new Int32Array(mapping.buffer);
    this.#index = offset / 4;
    this.#word = new FutexWord(mapping, offset);
    // On the memory's own file: after an unlink its name may be another file's, where the
    // owner's lock would be looked for in vain, and a live owner taken for dead.
    this.#presence = claimOn(memory, TOKENS);
    try {
      this.#probe = probeOn(memory);
    } catch (err) {
      this.#presence.release();
      throw err;
    }
    this.#token = this.#presence.slot + 1;
    this.#watch = new PeerWatch(this.#probe);
    this.#check(Atomics.load(this.#i32, this.#index));
  }

  /** Lays out an unlocked mutex at `offset` (no process may be using it yet). */
  static init(memory: FileMappedMemory, offset: number): Mutex {
    const mapping = fileMapping(memory);
    checkRange(mapping, offset, Mutex.SIZE);
    Atomics.store(new Int32Array(mapping.buffer), offset / 4, 0);
    return new Mutex(memory, offset);
  }

  /**
   * A named mutex in its own small shared memory object, created unlocked (EEXIST if the
   * name is taken, unless `exclusive: false`). Each call is a new owner.
   */
  static create(name: string, opts?: NamedCreateOptions): Mutex {
    const o = options<NamedCreateOptions>(opts, NAMED_CREATE_KEYS);
    return Mutex.#named(createNamed(name, MUTEX, o, (created, offset) => Atomics.store(new Int32Array(created.buffer), offset / 4, 0)));
  }

  /** Opens a named mutex; with `wait: true`, resolves once another process has created it. Each call is a new owner. */
  static open(name: string, opts: NamedOpenOptions & { wait: true }): Promise<Mutex>;
  static open(name: string, opts?: NamedOpenOptions & { wait?: false }): Mutex;
  static open(name: string, opts?: NamedOpenOptions): Mutex | Promise<Mutex> {
    return openNamed(name, MUTEX, opts, (shm) => Mutex.#named(shm));
  }

  static #named(shm: SharedMemory): Mutex {
    try {
      const m = new Mutex(shm, BODY_OFFSET);
      m.#own = shm;
      return m;
    } catch (err) {
      shm.close();
      throw err;
    }
  }

  /** Removes a named mutex's name. */
  static unlink(name: string, opts?: { dir?: string }): void {
    SharedMemory.unlink(posixName(name, MUTEX.syscall), options<{ dir: string }>(opts, ['dir']));
  }

  /** Removes this named mutex's name (EINVAL for one laid out in caller memory). */
  unlink(): void {
    if (!this.#own) throw new SystemError('EINVAL', 'mutex_unlink', undefined, 'not a named mutex');
    this.#own.unlink();
  }

  /**
   * True while this object holds the mutex and took it over from an owner that died
   * holding it: the state it protects may be half updated; repair it before unlock().
   */
  get ownerDied(): boolean {
    return this.#held && this.#ownerDied;
  }

  /** Whether this object holds the mutex. */
  get held(): boolean {
    return this.#held;
  }

  /** Takes the mutex if it is free (or its owner is dead), without waiting. */
  tryLock(): boolean {
    this.#enter();
    try {
      return this.#attempt(true, false);
    } finally {
      this.#busy = false;
    }
  }

  /**
   * Takes the mutex, waiting on the event loop (after a spin of at most 10 µs) up to
   * `timeout` ms (then ETIMEDOUT).
   */
  async lock(opts?: WaitOptions): Promise<void> {
    const o = options<WaitOptions>(opts, ['timeout', 'signal']);
    const signal = abortSignal(o.signal);
    const deadline = deadlineOf(timeoutMs(o.timeout));
    if (signal?.aborted) throw new AbortError(signal.reason);
    this.#enter();
    try {
      if (this.#attempt(true, false)) return;
      // As lockSync() spins, on the event loop: see Semaphore.acquire.
      const seen = Atomics.load(this.#i32, this.#index);
      if (seen !== 0 && this.#word.spin(seen) && this.#attempt(false, false)) return;
      if (!(await runAsync(this.#lock(deadline), signal))) throw timedOut(o.timeout!);
    } finally {
      this.#busy = false;
    }
  }

  /** lock() blocking this thread instead. */
  lockSync(opts?: WaitSyncOptions): void {
    const o = options<WaitSyncOptions>(opts, ['timeout']);
    const ms = timeoutMs(o.timeout);
    this.#enter();
    try {
      if (this.#attempt(true, false)) return;
      const deadline = deadlineOf(ms);
      // Spin while it is held, then sleep with WAITERS set.
      const seen = Atomics.load(this.#i32, this.#index);
      if (seen !== 0 && this.#word.spinBeforeBlocking(seen) && this.#attempt(false, false)) return;
      const got = runSync(this.#lock(deadline));
      this.#word.waited(got);
      if (!got) throw timedOut(o.timeout!);
    } finally {
      this.#busy = false;
    }
  }

  // lock() and lockSync() once they have spun: sleep with WAITERS set and the owner
  // watched, and look at the owner's liveness when its watch has fired.
  *#lock(deadline: number): WaitOp<boolean> {
    for (;;) {
      const v = this.#announce();
      if (v === 0) {
        if (this.#attempt(false, true)) return true;
        continue;
      }
      const left = remaining(deadline);
      if (left === 0) return this.#giveUp();
      const owner = v & OWNER;
      const heard = this.#watch.arm(TOKENS.base + owner - 1, 1, { handle: this.#word.mapping.handle, byteOffset: this.#offset, flagOffset: -1, from: v, to: v & ~WAITERS, bellFd: -1 });
      try {
        yield* this.#word.sleep(v, heard ? left : Math.min(left, CHECK_MS));
      } catch (err) {
        this.#giveUp();
        throw err;
      }
      // close() may have run meanwhile (only lock() lets it): its slot is gone, so
      // taking the mutex now would make an owner that every other one takes for dead.
      if (this.#presence.released) {
        this.#giveUp();
        throw new SystemError('EBADF', 'lock', undefined, 'the Mutex was closed while lock() waited');
      }
      if (this.#attempt(!heard || this.#watch.fired, true)) return true;
    }
  }

  /** Releases the mutex; EPERM unless this object holds it. */
  unlock(): void {
    if (!this.#held) throw new SystemError('EPERM', 'unlock', undefined, 'this Mutex object does not hold the mutex');
    if (this.#word.mapping.released) throw closedError();
    const v = this.#check(Atomics.load(this.#i32, this.#index));
    this.#held = false;
    this.#ownerDied = false;
    if ((v & OWNER) !== this.#token) {
      throw new SystemError('EPERM', 'unlock', undefined, `the mutex was taken over (owner token ${v & OWNER}, ours ${this.#token})`);
    }
    const old = Atomics.exchange(this.#i32, this.#index, 0);
    if (old & WAITERS) this.#word.wake(1);
  }

  /**
   * Gives up this object's liveness slot. A mutex still held is unlocked first;
   * otherwise waiters would take it over as if this process had died.
   */
  close(): void {
    if (this.#presence.released) return;
    try {
      if (this.#held && !this.#word.mapping.released) this.unlock();
    } finally {
      // Also when unlock() finds the word corrupt or the mutex taken over.
      this.#held = false;
      this.#watch.close();
      this.#probe.close();
      this.#presence.release();
      this.#own?.close();
    this.#carried?.close();
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #enter(): void {
    if (this.#presence.released) throw new SystemError('EBADF', 'lock', undefined, 'the Mutex is closed');
    if (this.#word.mapping.released) throw closedError();
    if (this.#held || this.#busy) {
      throw new SystemError('EDEADLK', 'lock', undefined, 'this Mutex object already holds or is acquiring the mutex; use one Mutex object per concurrent owner');
    }
    this.#busy = true;
  }

  // One try: free -> ours; held by a dead owner (when checkOwner) -> ours, owner died.
  // A caller that has slept takes it `contended` (with WAITERS), since others may
  // still sleep and unlock() must then wake one.
  #attempt(checkOwner: boolean, contended: boolean): boolean {
    for (;;) {
      const v = this.#check(Atomics.load(this.#i32, this.#index));
      const owner = v & OWNER;
      let died = false;
      if (owner !== 0) {
        if (owner === this.#token) throw new CorruptionError(`mutex at offset ${this.#offset} names this object as owner, but it does not hold it`, this.#offset, v);
        if (!checkOwner || this.#probe.isAlive(TOKENS.base + owner - 1)) return false;
        died = true;
      }
      // Keep WAITERS once set: others may sleep on the word.
      const next = this.#token | (contended ? WAITERS : v & WAITERS);
      if (Atomics.compareExchange(this.#i32, this.#index, v, next) === v) {
        this.#held = true;
        this.#ownerDied = died;
        return true;
      }
    }
  }

  // A waiter that gives up may have consumed the wake of an unlock meant for another
  // sleeper: if the mutex is free now, pass the wake on; if someone took it meanwhile
  // (without WAITERS, from the fast path), raise WAITERS so that its unlock wakes one.
  #giveUp(): false {
    if (!this.#word.mapping.released && this.#announce() === 0) this.#word.wake(1);
    return false;
  }

  // Sets WAITERS on a held mutex; returns the word to sleep on, or 0 if it is free.
  #announce(): number {
    for (;;) {
      const v = this.#check(Atomics.load(this.#i32, this.#index));
      if ((v & OWNER) === 0) return 0;
      if (v & WAITERS) return v;
      if (Atomics.compareExchange(this.#i32, this.#index, v, v | WAITERS) === v) return v | WAITERS;
    }
  }

  #check(v: number): number {
    if (v < 0) throw new CorruptionError(`mutex word at offset ${this.#offset} is ${v}: the shared memory is corrupt`, this.#offset, v);
    return v;
  }

  /**
   * A plain object for a Worker, where fromHandle() opens this mutex again as a new
   * mutex object: a named one by its file, one in a SharedMemory by that memory's
   * handle and the offset (docs/api.md, "Workers"). The memory opened for it there is
   * closed with it.
   */
  handle(): MutexHandle {
    return primitiveHandle('Mutex', this.#own, this.#memory, this.#offset);
  }

  readonly #memory: FileMappedMemory;
  // Set by fromHandle() for one in caller memory: the memory opened for this object alone.
  #carried: { close(): void } | null = null;

  static {
    revivable('Mutex', PRIMITIVE_KEYS, (h) =>
      revivePrimitive(
        h,
        (shm) => Mutex.#named(shm),
        (memory, offset) => {
          const revived = new Mutex(memory as FileMappedMemory, offset);
          revived.#carried = memory as { close(): void };
          return revived;
        },
      ),
    );
  }
}

function timedOut(timeout: number): SystemError {
  return new SystemError('ETIMEDOUT', 'lock', undefined, `the mutex was not free within ${timeout} ms`);
}

/** What handle() of a Mutex gives. */
export type MutexHandle = PrimitiveHandle<Mutex, 'Mutex'>;

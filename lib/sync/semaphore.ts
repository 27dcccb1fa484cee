// Counting semaphores on shared memory, across processes. Layout (8 bytes, 4-byte
// aligned): Int32 value, then Int32 count of processes blocked (or about to block) on
// it. Acquire and release are Atomics on the value; release calls futex wake only when
// the count says someone waits. A process killed while waiting leaves the count one
// too high, which costs a needless wake, never a lost one.
import { BODY_OFFSET, NAMED_CREATE_KEYS, createNamed, openNamed, type NamedCreateOptions, type NamedOpenOptions } from '../shm/named_segment';
import { SharedMemory } from '../shm/shared_memory';
import { AbortError, CorruptionError, SystemError } from '../core/errors';
import { FutexWord, checkRange, closedError, mappingOf, type WaitOptions, type WaitSyncOptions } from '../wait/futex';
import type { Mapping } from '../addon/mapping';
import { MAGIC } from '../core/magic';
import { posixName } from '../core/names';
import { abortSignal, deadlineOf, remaining, timeoutMs } from '../core/timeout';
import { runAsync, runSync, type WaitOp } from '../wait/loop';
import { integer, options } from '../core/validate';
import { refuseClone, revivable } from '../core/handle';
import { PRIMITIVE_KEYS, primitiveHandle, revivePrimitive, type PrimitiveHandle } from './handle';

/** Anything with a mapping: a SharedMemory, or a segment of another kind. */
export interface MappedMemory {
  readonly mapping: Mapping;
}

export interface SemaphoreCreateOptions extends NamedCreateOptions {
  /** Initial value. Default 0. */
  initial?: number;
}

const VALUE_MAX = 2 ** 31 - 1;

const SEMAPHORE = { magic: MAGIC.semaphore, what: 'semaphore', syscall: 'sem_open' };

export class Semaphore implements Disposable {
  /** Bytes a semaphore takes in shared memory. */
  static readonly SIZE = 8;
  /** The largest value (SEM_VALUE_MAX). */
  static readonly MAX = VALUE_MAX;

  readonly #i32: Int32Array;
  readonly #value: number;
  readonly #waiters: number;
  readonly #word: FutexWord;
  readonly #offset: number;
  // Set for a named semaphore: the segment this object owns.
  #own: SharedMemory | null = null;

  /** Attaches to a semaphore that Semaphore.init() laid out at `offset`. */
  constructor(memory: MappedMemory, offset: number) {
    refuseClone(this, 'Semaphore');
    this.#memory = memory;
    const mapping = mappingOf(memory);
    this.#offset = checkRange(mapping, offset, Semaphore.SIZE);
    this.#i32 = new Int32Array(mapping.buffer);
    this.#value = offset / 4;
    this.#waiters = offset / 4 + 1;
    this.#word = new FutexWord(mapping, offset);
    this.#check(Atomics.load(this.#i32, this.#value));
  }

  /** Lays out a semaphore with `value` at `offset` (no process may be using it yet). */
  static init(memory: MappedMemory, offset: number, value: number): Semaphore {
    const mapping = mappingOf(memory);
    checkRange(mapping, offset, Semaphore.SIZE);
    integer('value', value, 0, VALUE_MAX);
    const i32 = new Int32Array(mapping.buffer);
    Atomics.store(i32, offset / 4 + 1, 0);
    Atomics.store(i32, offset / 4, value);
    return new Semaphore(memory, offset);
  }

  /**
   * A named semaphore in its own small shared memory object (like sem_open with
   * O_CREAT | O_EXCL), holding `initial` (EEXIST if the name is taken, unless
   * `exclusive: false`).
   */
  static create(name: string, opts?: SemaphoreCreateOptions): Semaphore {
    const o = options<SemaphoreCreateOptions>(opts, [...NAMED_CREATE_KEYS, 'initial']);
    const initial = o.initial === undefined ? 0 : integer('initial', o.initial, 0, VALUE_MAX);
    return Semaphore.#named(createNamed(name, SEMAPHORE, o, (created, offset) => Atomics.store(new Int32Array(created.buffer), offset / 4, initial)));
  }

  /** Opens a named semaphore; with `wait: true`, resolves once another process has created it. */
  static open(name: string, opts: NamedOpenOptions & { wait: true }): Promise<Semaphore>;
  static open(name: string, opts?: NamedOpenOptions & { wait?: false }): Semaphore;
  static open(name: string, opts?: NamedOpenOptions): Semaphore | Promise<Semaphore> {
    return openNamed(name, SEMAPHORE, opts, (shm) => Semaphore.#named(shm));
  }

  static #named(shm: SharedMemory): Semaphore {
    try {
      const sem = new Semaphore(shm, BODY_OFFSET);
      sem.#own = shm;
      return sem;
    } catch (err) {
      shm.close();
      throw err;
    }
  }

  /** Removes a named semaphore's name. */
  static unlink(name: string, opts?: { dir?: string }): void {
    SharedMemory.unlink(posixName(name, 'sem_unlink'), options<{ dir: string }>(opts, ['dir']));
  }

  /** The current value (a snapshot). */
  get value(): number {
    this.#checkOpen();
    return this.#check(Atomics.load(this.#i32, this.#value));
  }

  /** Takes one unit if one is free, without waiting. EBADF once its memory is closed in this process. */
  tryAcquire(): boolean {
    this.#checkOpen();
    for (;;) {
      const v = this.#check(Atomics.load(this.#i32, this.#value));
      if (v === 0) return false;
      if (Atomics.compareExchange(this.#i32, this.#value, v, v - 1) === v) return true;
    }
  }

  /**
   * Takes one unit, waiting on the event loop (after a spin of at most 10 µs) up to
   * `timeout` ms (then ETIMEDOUT).
   */
  acquire(opts?: WaitOptions): Promise<void> {
    try {
      const o = options<WaitOptions>(opts, ['timeout', 'signal']);
      const signal = abortSignal(o.signal);
      const deadline = deadlineOf(timeoutMs(o.timeout));
      if (signal?.aborted) throw new AbortError(signal.reason);
      if (this.tryAcquire()) return Promise.resolve();
      // The same spin as acquireSync(), on the event loop: a unit released within it costs
      // no trip through the waiter thread (two thread wake-ups).
      if (this.#word.spin(0) && this.tryAcquire()) return Promise.resolve();
      return runAsync(this.#acquire(deadline), signal).then((got) => {
        if (!got) throw this.#timedOut(o.timeout!);
      });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** acquire() blocking this thread instead. */
  acquireSync(opts?: WaitSyncOptions): void {
    const o = options<WaitSyncOptions>(opts, ['timeout']);
    const ms = timeoutMs(o.timeout);
    if (this.tryAcquire()) return;
    const deadline = deadlineOf(ms);
    // Spin before announcing ourselves, so a releaser does not pay for a wake.
    if (this.#word.spinBeforeBlocking(0) && this.tryAcquire()) return;
    const got = runSync(this.#acquire(deadline));
    this.#word.waited(got);
    if (!got) throw this.#timedOut(o.timeout!);
  }

  #timedOut(timeout: number): SystemError {
    return new SystemError('ETIMEDOUT', 'sem_wait', this.#own?.name, `no unit was free within ${timeout} ms`);
  }

  // acquire() and acquireSync() once they have spun: counted among the waiters, sleep
  // while the value is 0.
  *#acquire(deadline: number): WaitOp<boolean> {
    Atomics.add(this.#i32, this.#waiters, 1);
    let acquired = false;
    try {
      for (;;) {
        if ((acquired = this.tryAcquire())) return true;
        const left = remaining(deadline);
        if (left === 0) return false;
        yield* this.#word.sleep(0, left);
      }
    } finally {
      this.#leave(acquired);
    }
  }

  /** Adds `n` units and wakes up to `n` waiters; EOVERFLOW beyond Semaphore.MAX. */
  release(n = 1): void {
    if (n !== 1) integer('n', n, 1, VALUE_MAX);
    this.#checkOpen();
    for (;;) {
      const v = this.#check(Atomics.load(this.#i32, this.#value));
      if (v > VALUE_MAX - n) throw new SystemError('EOVERFLOW', 'sem_post', this.#own?.name, `value ${v} + ${n} exceeds ${VALUE_MAX}`);
      if (Atomics.compareExchange(this.#i32, this.#value, v, v + n) === v) break;
    }
    const waiters = Atomics.load(this.#i32, this.#waiters);
    if (waiters < 0) throw this.#corrupt('waiter count', this.#offset + 4, waiters);
    if (waiters > 0) this.#word.wake(n);
  }

  /** Detaches this object; a named semaphore's segment is closed (not unlinked). */
  close(): void {
    this.#own?.close();
    this.#carried?.close();
  }

  /** Removes a named semaphore's name (EINVAL for one laid out in caller memory). */
  unlink(): void {
    if (!this.#own) throw new SystemError('EINVAL', 'sem_unlink', undefined, 'not a named semaphore');
    this.#own.unlink();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  // A waiter that gives up (timeout, abort) may have consumed the wake a release
  // meant for another waiter: pass it on while units are left for them.
  #leave(acquired: boolean): void {
    const others = Atomics.sub(this.#i32, this.#waiters, 1) - 1;
    if (!acquired && others > 0 && !this.#word.mapping.released && Atomics.load(this.#i32, this.#value) > 0) this.#word.wake(1);
  }

  // A closed mapping reads as zeros: without this, a closed semaphore would look empty.
  #checkOpen(): void {
    if (this.#word.mapping.released) throw closedError();
  }

  #check(v: number): number {
    if (v < 0) throw this.#corrupt('value', this.#offset, v);
    return v;
  }

  #corrupt(what: string, offset: number, v: number): CorruptionError {
    return new CorruptionError(`semaphore ${what} at offset ${offset} is ${v}: the shared memory is corrupt`, offset, v);
  }

  /**
   * A plain object for a Worker, where fromHandle() opens this semaphore again as a new
   * semaphore object: a named one by its file, one in a SharedMemory by that memory's
   * handle and the offset (docs/api.md, "Workers"). The memory opened for it there is
   * closed with it.
   */
  handle(): SemaphoreHandle {
    return primitiveHandle('Semaphore', this.#own, this.#memory, this.#offset);
  }

  readonly #memory: MappedMemory;
  // Set by fromHandle() for one in caller memory: the memory opened for this object alone.
  #carried: { close(): void } | null = null;

  static {
    revivable('Semaphore', PRIMITIVE_KEYS, (h) =>
      revivePrimitive(
        h,
        (shm) => Semaphore.#named(shm),
        (memory, offset) => {
          const revived = new Semaphore(memory as MappedMemory, offset);
          revived.#carried = memory as { close(): void };
          return revived;
        },
      ),
    );
  }
}

/** What handle() of a Semaphore gives. */
export type SemaphoreHandle = PrimitiveHandle<Semaphore, 'Semaphore'>;

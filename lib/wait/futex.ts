// Waiting on a 32-bit word of shared memory across processes (docs/design.md, "Waiting").
// V8's Atomics.wait is per process, so blocking goes through the Linux futex in the
// addon: synchronously on this thread after a short spin, or asynchronously through
// the per-process waiter thread, which never blocks the event loop.

import { AbortError, SystemError, argType, argValue } from '../core/errors';
import { Mapping } from '../addon/mapping';
import { native } from '../addon/native';
import { abortSignal, deadlineOf, remaining, timeoutMs } from '../core/timeout';
import { boolean, integer, options } from '../core/validate';
import { refuseClone } from '../core/handle';
import { futexSleep, runAsync, runSync, type WaitOp } from './loop';
import { SpinBudget, spinFor, spinMax } from './spin';

/** 'ok': woken or the word changed (re-check it); 'mismatch': it already held another value. */
export type WaitResult = 'ok' | 'mismatch';

export interface WaitSyncOptions {
  /** Milliseconds to wait; ETIMEDOUT after. Default: no limit. */
  timeout?: number;
}

export interface WaitOptions extends WaitSyncOptions {
  /** Ends the wait with AbortError (the signal's reason in `cause`). */
  signal?: AbortSignal;
}

export interface FutexWaitSyncOptions extends WaitSyncOptions {
  /** Spin on the word before sleeping (default true). */
  spin?: boolean;
}

// Spinning only pays when the waker runs on another CPU at the same time. Half the
// channel's budget: a released unit or lock is taken by whoever is awake, so a long
// spin here mostly races the other waiters.
const SPIN_MAX_NS = spinMax(10_000);

/**
 * One 32-bit word of a mapping, 4-byte aligned and inside it (checked here, and again
 * by the addon). wait() returns when the word no longer holds `expected`, when woken,
 * or at the timeout; callers always re-check the word, as with any futex.
 */
export class FutexWord {
  // Declared only: assigned after refuseClone(), which must come first (lib/core/handle.ts).
  declare readonly mapping: Mapping;
  declare readonly byteOffset: number;
  readonly #i32: Int32Array;
  readonly #index: number;
  readonly #budget = new SpinBudget(SPIN_MAX_NS);
  // When the last spin gave up, until the wait after it ends; -1 when none is pending.
  #gaveUpAt = -1;

  constructor(mapping: Mapping, byteOffset: number) {
    refuseClone(this, 'FutexWord', "post its memory's handle() and make a FutexWord on that memory in the worker");
    if (!(mapping instanceof Mapping)) throw argType('mapping', "a Mapping (a SharedMemory's .mapping)", mapping);
    checkRange(mapping, byteOffset, 4);
    this.mapping = mapping;
    this.byteOffset = byteOffset;
    this.#i32 = new Int32Array(mapping.buffer);
    this.#index = byteOffset / 4;
  }

  /**
   * Resolves 'ok' once the word may have changed from `expected`, 'mismatch' at once if it
   * already has; waits on the event loop (the per-process waiter thread). Rejects with
   * ETIMEDOUT at the timeout, AbortError on abort.
   */
  wait(expected: number, opts?: WaitOptions): Promise<WaitResult> {
    try {
      checkExpected(expected);
      const o = options<WaitOptions>(opts, ['timeout', 'signal']);
      const signal = abortSignal(o.signal);
      const ms = timeoutMs(o.timeout);
      if (signal?.aborted) throw new AbortError(signal.reason);
      this.#checkOpen();
      if (Atomics.load(this.#i32, this.#index) !== expected) return Promise.resolve('mismatch');
      return runAsync(this.sleep(expected, ms), signal).then((r) => {
        if (r === 'timeout') throw timedOut(ms);
        return r;
      });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * wait() blocking this thread: first a bounded spin on Atomics.load (unless `spin` is
   * false), then the shared futex (on a Worker's thread in slices of at most 100 ms, so
   * that terminate() reaches it).
   */
  waitSync(expected: number, opts?: FutexWaitSyncOptions): WaitResult {
    checkExpected(expected);
    const o = options<FutexWaitSyncOptions>(opts, ['timeout', 'spin']);
    const spin = boolean('spin', o.spin, true);
    const ms = timeoutMs(o.timeout);
    this.#checkOpen();
    if (spin && this.spinBeforeBlocking(expected)) return 'mismatch';
    const r = runSync(this.sleep(expected, ms));
    if (spin) this.waited(r !== 'timeout');
    if (r === 'timeout') throw timedOut(ms);
    return r;
  }

  /**
   * The wait as a step of a wait loop (lib/wait/loop.ts): sleeps until the word may have
   * changed from `expected` or `timeout` ms pass, across as many slices as that takes.
   * 'mismatch' only under the sync driver; a mapping released meanwhile throws.
   */
  *sleep(expected: number, timeout: number): WaitOp<WaitResult | 'timeout'> {
    const deadline = deadlineOf(timeout);
    for (;;) {
      const r = yield futexSleep(this.#i32, this.#index, this.mapping.handle, expected, remaining(deadline));
      if (r === 'closed') throw closedError();
      if (r !== 'slice') return r;
    }
  }

  /** Wakes up to `count` waiters in any process; returns how many woke. */
  wake(count = 1): number {
    if (count !== 1) integer('count', count, 1, 2 ** 31 - 1);
    if (this.mapping.released) return 0;
    return native.futex.wake(this.mapping.handle, this.byteOffset, count);
  }

  #checkOpen(): void {
    if (this.mapping.released) throw closedError();
  }

  /**
   * Spins on Atomics.load for the adaptive budget (no system call); true if the word
   * left `expected` meanwhile. A spin that gives up halves the budget: the wait after it
   * is the caller's (on the event loop, where a spin holds the loop, and an event-loop
   * wait's length, with the waiter thread's hop and other callbacks in it, says little
   * about when the peer answered).
   */
  spin(expected: number): boolean {
    const changed = this.#spin(expected);
    if (changed === false) this.#budget.slept(Infinity);
    return changed === true;
  }

  /**
   * @internal spin() before a wait that blocks this thread: a spin that gives up is
   * judged when that wait ends (waited()), by how long the whole wait took
   * (SpinBudget.missed()). Judged by the spin alone, a budget that had shrunk below the
   * peer's usual answer time would never grow again, and every handoff would pay a
   * sleep and a wake-up.
   */
  spinBeforeBlocking(expected: number): boolean {
    const start = performance.now();
    const changed = this.#spin(expected);
    this.#gaveUpAt = changed === false ? start : -1;
    return changed === true;
  }

  // true: the word left `expected` (the budget grows); false: the spin gave up;
  // undefined: no budget (one CPU).
  #spin(expected: number): boolean | undefined {
    if (this.#budget.ns === 0) return undefined;
    const changed = spinFor(() => (Atomics.load(this.#i32, this.#index) !== expected ? true : undefined), this.#budget.ns / 1e6) === true;
    if (changed) this.#budget.hit();
    return changed;
  }

  /** @internal The spin's budget now, in ns (for tests). */
  get spinNs(): number {
    return this.#budget.ns;
  }

  /**
   * @internal The blocking wait after spinBeforeBlocking() gave up has ended:
   * `answered`, it got what it waited for (judged by how long it took); not (a
   * timeout), the peer was away.
   */
  waited(answered: boolean): void {
    if (this.#gaveUpAt < 0) return;
    this.#budget.missed(answered ? performance.now() - this.#gaveUpAt : Infinity);
    this.#gaveUpAt = -1;
  }
}

/** The value a wait compares the word with: an Int32, or the same bits as a Uint32. */
function checkExpected(expected: unknown): void {
  integer('expected', expected, -(2 ** 31), 2 ** 32 - 1);
}

/** The mapping of `memory` (a SharedMemory, or a segment of another kind), checked. */
export function mappingOf(memory: unknown): Mapping {
  const mapping = (memory as { mapping?: unknown } | null | undefined)?.mapping;
  if (!(mapping instanceof Mapping)) throw argType('memory', 'a SharedMemory or another object with a .mapping', memory);
  return mapping;
}

/** Checks that `size` bytes at `offset` are 4-byte aligned and inside the memory. */
export function checkRange(mapping: Mapping, offset: unknown, size: number): number {
  integer('offset', offset, 0);
  const o = offset as number;
  if (o % 4 !== 0) throw argValue('offset', 'must be a multiple of 4', o);
  if (o + size > mapping.buffer.byteLength) {
    throw argValue('offset', `must leave ${size} bytes inside the ${mapping.buffer.byteLength}-byte memory`, o);
  }
  if (mapping.released) throw closedError();
  return o;
}

export function closedError(): SystemError {
  return new SystemError('EBADF', 'futex', undefined, 'the shared memory was closed in this process');
}

function timedOut(ms: number): SystemError {
  return new SystemError('ETIMEDOUT', 'futex', undefined, `the word did not change within ${ms} ms`);
}

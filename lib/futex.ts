// Waiting on a 32-bit word of shared memory across processes (DESIGN.md 2.4-2.6).
// V8's Atomics.wait is per process, so blocking goes through the Linux futex in the
// addon: synchronously on this thread after a short spin, or asynchronously through
// the per-process waiter thread, which never blocks the event loop.
import { availableParallelism } from 'node:os';

import { AbortError, SystemError, argType, argValue } from './errors';
import { Mapping } from './mapping';
import { native } from './native';
import { abortSignal, deadlineOf, remaining, timeoutMs } from './timeout';
import { boolean, integer, options } from './validate';

export type WaitResult = 'ok' | 'timeout' | 'mismatch';

export interface AsyncWaitOptions {
  signal?: AbortSignal;
  /** Milliseconds; default Infinity. */
  timeout?: number;
}

// Spinning only pays when the waker runs on another CPU at the same time.
const SPIN_MAX_NS = availableParallelism() > 1 ? 10_000 : 0;
const SPIN_MIN_NS = 250;

/**
 * One 32-bit word of a mapping, 4-byte aligned and inside it (checked here, and again
 * by the addon). wait() returns when the word no longer holds `expected`, when woken,
 * or at the timeout; callers always re-check the word, as with any futex.
 */
export class FutexWord {
  readonly mapping: Mapping;
  readonly byteOffset: number;
  readonly #i32: Int32Array;
  readonly #index: number;
  // Adaptive spin budget: doubled when a spin sees the change, halved when it does not.
  #spinNs = SPIN_MAX_NS;

  constructor(mapping: Mapping, byteOffset: number) {
    if (!(mapping instanceof Mapping)) throw argType('mapping', "a Mapping (a SharedMemory's .mapping)", mapping);
    checkRange(mapping, byteOffset, 4);
    this.mapping = mapping;
    this.byteOffset = byteOffset;
    this.#i32 = new Int32Array(mapping.buffer);
    this.#index = byteOffset / 4;
  }

  /**
   * Blocks this thread until the word may have changed from `expected`: first a
   * bounded spin on Atomics.load (unless `spin` is false), then the shared futex, in
   * slices of at most 100 ms (JavaScript runs between them, so a Worker blocked here
   * can be terminated). 'timeout' only once `timeout` ms have passed.
   */
  wait(expected: number, timeout = Infinity, spin = true): WaitResult {
    checkExpected(expected);
    boolean('spin', spin, true);
    this.#checkOpen();
    if (spin && this.spin(expected)) return 'mismatch';
    const deadline = deadlineOf(timeoutMs(timeout));
    for (;;) {
      const left = remaining(deadline);
      const r = native.futexWait(this.mapping.handle, this.byteOffset, expected >>> 0, left === Infinity ? -1 : left);
      if (r !== 'slice') return r;
    }
  }

  /**
   * Resolves 'ok' once the word may have changed from `expected` (or at once if it
   * already has), 'timeout' at the timeout; rejects with AbortError on abort.
   */
  waitAsync(expected: number, opts?: AsyncWaitOptions): Promise<'ok' | 'timeout'> {
    checkExpected(expected);
    const o = options<AsyncWaitOptions>(opts);
    const signal = abortSignal(o.signal);
    const ms = timeoutMs(o.timeout);
    if (signal?.aborted) return Promise.reject(new AbortError(signal.reason));
    this.#checkOpen();
    if (Atomics.load(this.#i32, this.#index) !== expected) return Promise.resolve('ok');
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        native.cancelWait(id);
        reject(new AbortError(signal!.reason));
      };
      const id = native.waitAsync(this.mapping.handle, this.byteOffset, expected >>> 0, ms === Infinity ? -1 : ms, (result) => {
        signal?.removeEventListener('abort', onAbort);
        if (result === 'closed') reject(closedError());
        else if (result === 'error') reject(new SystemError('ENOSYS', 'futex_waitv', undefined, 'futex_waitv is not available (Linux 5.16 or later is needed)'));
        else resolve(result);
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Wakes up to `count` waiters in any process; returns how many woke. */
  wake(count = 1): number {
    if (count !== 1) integer('count', count, 1, 2 ** 31 - 1);
    if (this.mapping.released) return 0;
    return native.futexWake(this.mapping.handle, this.byteOffset, count);
  }

  #checkOpen(): void {
    if (this.mapping.released) throw closedError();
  }

  /**
   * Spins on Atomics.load for the adaptive budget (no system call); true if the word
   * left `expected` meanwhile.
   */
  spin(expected: number): boolean {
    const budget = this.#spinNs;
    if (budget === 0) return false;
    const end = performance.now() + budget / 1e6;
    for (let i = 1; ; i++) {
      if (Atomics.load(this.#i32, this.#index) !== expected) {
        this.#spinNs = Math.min(SPIN_MAX_NS, budget * 2);
        return true;
      }
      if ((i & 31) === 0 && performance.now() >= end) break;
    }
    this.#spinNs = Math.max(SPIN_MIN_NS, budget / 2);
    return false;
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

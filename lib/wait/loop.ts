// The wait loop of the synchronization objects. A blocking operation (Semaphore acquire,
// Mutex lock, FutexWord wait) is written once, as a generator that yields each sleep it
// needs and gets the sleep's result back; a sync driver runs it by blocking this thread,
// an async driver by awaiting the waiter thread. Only slow paths come here: an
// operation's fast path and its spin stay in front of it. A channel side, which may
// sleep once per message, has a driver of its own over the same sleeps
// (lib/channel/wait.ts), without a generator's and its promises' garbage per wait.
import { AbortError, SystemError } from '../core/errors';
import { onAbort } from '../core/timeout';
import { native, SLICED, type MappingHandle } from '../addon/native';

/**

 * Longest single blocking futex.wait on a Worker's thread, so that terminate() can still
 * reach it (the addon reports 'slice' then; it is the addon's own slice); the main thread
 * sleeps unsliced. Also the bound of a sleep whose peer cannot be watched (no death-watch
 * thread could start), which then looks at the peer after each.
 */
export const SLICE_MS = native.futex.sliceMs;

/** Sleep on a futex word until it leaves `expected`, a wake, or `ms` (Infinity: no limit). */
export interface FutexSleep {
  i32: Int32Array;
  /** Int32 index of the word in i32; the same word as byteOffset in the mapping. */
  index: number;
  handle: MappingHandle;
  expected: number;
  ms: number;
}


/**
 * What a sleep ended in. 'ok': woken, or the word no longer held `expected` (re-check
 * it, as with any futex); 'mismatch' (sync only): it did not hold it at the call;
 * 'slice' (sync only): SLICE_MS passed short of `ms`; 'closed' (async only): the mapping
 * was released in this process. An abort is thrown into the operation, as AbortError.
 */
export type SleepResult = 'ok' | 'timeout' | 'mismatch' | 'slice' | 'closed';

export type WaitOp<T> = Generator<FutexSleep, T, SleepResult>;

export function futexSleep(i32: Int32Array, index: number, handle: MappingHandle, expected: number, ms: number): FutexSleep {
  return { i32, index, handle, expected, ms };
}

/** One futex sleep blocking this thread (sliced on a Worker's thread, see SLICE_MS). */
export function blockOn(handle: MappingHandle, byteOffset: number, expected: number, ms: number): 'ok' | 'timeout' | 'mismatch' | 'slice' {
  return native.futex.wait(handle, byteOffset, expected >>> 0, ms === Infinity ? -1 : ms, SLICED);
}

/**
 * One futex sleep on the per-process waiter thread, without blocking this one: `ended`
 * gets how it ended ('ok', 'timeout', 'closed') or the error. Returns the id that
 * native.waiter.cancel() takes, or -1 with no sleep (and no call of `ended`) if the word
 * no longer holds `expected`: the trip through the waiter thread costs two thread wake-ups.
 */
export function sleepOnWaiter(i32: Int32Array, index: number, handle: MappingHandle, expected: number, ms: number, ended: (result: 'ok' | 'timeout' | 'closed' | SystemError) => void): number {
  if (Atomics.load(i32, index) !== (expected | 0)) return -1;
  return native.waiter.wait(handle, index << 2, expected >>> 0, ms === Infinity ? -1 : ms, (result) =>
    ended(result === 'error' ? new SystemError('ENOSYS', 'futex_waitv', undefined, 'futex_waitv is not available (Linux 5.16 or later is needed)') : result),
  );
}

/** Runs `op` on this thread, blocking it in each sleep. */
export function runSync<T>(op: WaitOp<T>): T {
  let step = op.next();
  while (!step.done) {
    const s = step.value;
    let result: SleepResult;
    try {
      result = blockOn(s.handle, s.index << 2, s.expected, s.ms);
    } catch (err) {
      step = op.throw(err);
      continue;
    }
    step = op.next(result);
  }
  return step.value;
}

/** Runs `op` on the event loop; an abort of `signal` is thrown into it (its finally blocks run). */
export async function runAsync<T>(op: WaitOp<T>, signal: AbortSignal | undefined): Promise<T> {
  let step = op.next();
  while (!step.done) {
    let result: SleepResult;
    try {
      if (signal?.aborted) throw new AbortError(signal.reason);
      result = await sleepAsync(step.value, signal);
    } catch (err) {
      step = op.throw(err);
      continue;
    }
    step = op.next(result);
  }
  return step.value;
}

function sleepAsync(s: FutexSleep, signal: AbortSignal | undefined): Promise<SleepResult> {
  return new Promise((resolve, reject) => {
    let unwatch: (() => void) | undefined;
    const id = sleepOnWaiter(s.i32, s.index, s.handle, s.expected, s.ms, (result) => {
      unwatch?.();
      if (result instanceof SystemError) reject(result);
      else resolve(result);
    });
    if (id < 0) return resolve('ok');
    if (signal !== undefined) {
      unwatch = onAbort(signal, () => {
        native.waiter.cancel(id);
        reject(new AbortError(signal.reason));
      });
    }
  });
}

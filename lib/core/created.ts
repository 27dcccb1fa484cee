// open({ wait: true }): waiting for another process (perhaps in another container) to
// create an object, without a periodic timer where the kernel can tell us: the object's
// directory is watched (inotify works on tmpfs and on the mqueue file system), and the
// open is tried again at each change in it.
import { watch, type FSWatcher } from 'node:fs';

import { AbortError, PodshmError, SystemError } from './errors';
import { abortSignal, onAbort, timeoutMs } from './timeout';
import { options } from './validate';

export interface WaitForCreationOptions {
  /** Wait for the object to be created instead of failing with ENOENT. */
  wait?: boolean;
  /** With wait: milliseconds to wait (then ETIMEDOUT). Default: no limit. */
  timeout?: number;
  /** With wait: ends the wait with AbortError (the signal's reason in `cause`). */
  signal?: AbortSignal;
}

export const WAIT_KEYS = ['wait', 'timeout', 'signal'] as const;

// Where the directory cannot be watched (not there yet: an emptyDir not mounted; a
// message queue, whose mqueue mount may be another IPC namespace's), the open is
// retried on a backoff from the first to the second, on one timer per process that
// serves every such open and runs only while one is pending (docs/design.md, "Waiting
// without a clock").
const MIN_RETRY_MS = 10;
const MAX_RETRY_MS = 1000;

const retrying = new Set<() => boolean>();
let retryTimer: NodeJS.Timeout | undefined;
let retryMs = MIN_RETRY_MS;

/** Tries `attempt` again and again until it returns true (settled) or stopRetry(). */
function retry(attempt: () => boolean): void {
  retrying.add(attempt);
  // The newcomer's object may be created just after it asked: start the backoff over.
  if (retryTimer !== undefined && retryMs === MIN_RETRY_MS) return;
  clearTimeout(retryTimer);
  retryMs = MIN_RETRY_MS;
  scheduleRetry();
}

function scheduleRetry(): void {
  retryTimer = setTimeout(() => {
    for (const attempt of [...retrying]) if (attempt()) retrying.delete(attempt);
    retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
    if (retrying.size > 0) scheduleRetry();
    else retryTimer = undefined;
  }, retryMs);
}

function stopRetry(attempt: () => boolean): void {
  if (!retrying.delete(attempt) || retrying.size > 0) return;
  clearTimeout(retryTimer);
  retryTimer = undefined;
}

/**
 * Resolves with open() once it stops failing with ENOENT. `dir` is where the object's
 * name appears (null: nowhere to watch); `what` names it in the timeout's message.
 */
export function openWhenCreated<T>(open: () => T, dir: string | null, opts: WaitForCreationOptions, syscall: string, what: string): Promise<T> {
  try {
    const o = options<WaitForCreationOptions>(opts, WAIT_KEYS);
    const ms = timeoutMs(o.timeout);
    const signal = abortSignal(o.signal);
    if (signal?.aborted) throw new AbortError(signal.reason);
    return new Promise<T>((resolve, reject) => {
      let watcher: FSWatcher | null = null;
      let settled = false;
      const end = (settle: () => void): void => {
        settled = true;
        watcher?.close();
        stopRetry(attempt);
        clearTimeout(deadline);
        unwatch?.();
        settle();
      };
      const deadline = ms === Infinity ? undefined : setTimeout(() => end(() => reject(new SystemError('ETIMEDOUT', syscall, what, `not created within ${ms} ms`))), ms);
      // True when settled (opened, or failed with something other than ENOENT).
      const attempt = (): boolean => {
        if (settled) return true;
        try {
          const opened = open();
          end(() => resolve(opened));
        } catch (err) {
          if (!(err instanceof PodshmError && err.code === 'ENOENT')) {
            end(() => reject(err));
            return true;
          }
          return false;
        }
        return true;
      };
      const unwatch = signal && onAbort(signal, () => end(() => reject(new AbortError(signal.reason))));
      // The watch before the first try, so that a creation between the two is not missed.
      if (dir !== null) {
        try {
          watcher = watch(dir, { persistent: true }, () => attempt());
          watcher.on('error', () => {
            watcher?.close();
            watcher = null;
            retry(attempt);
          });
        } catch {
          watcher = null;
        }
      }
      if (!attempt() && watcher === null) retry(attempt);
    });
  } catch (err) {
    return Promise.reject(err);
  }
}

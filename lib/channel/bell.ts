// A channel's bell (native/bell.cc): a FIFO beside the segment, `<segment>.bell`, that
// wakes a consumer waiting on the event loop with one wake-up instead of two (the
// futex wakes the waiter thread, which then wakes the loop). It has the segment's
// scope and permissions: whoever can open the segment can ring it. The creator records
// the FIFO's inode in the header, and openers take only that FIFO. The bell only speeds
// waking up; a channel without one works through the futex alone (channel_wait.ts).
import * as fs from 'node:fs';
import { AbortError } from '../core/errors';
import { onAbort } from '../core/timeout';
import { native, type WatchHandle } from '../addon/native';

export const bellPath = (segmentPath: string): string => `${segmentPath}.bell`;

const codeOf = (err: unknown): unknown => (err as { code?: unknown }).code;

export class Bell {
  /** The FIFO's inode, for openers to check that they have the creator's. */
  readonly inode: number;
  /** The descriptor, owned by the watch handle: valid until close(). */
  readonly #fd: number;
  readonly #watch: WatchHandle;
  readonly #sleepers = new Set<() => void>();
  // The watch holds its callback weakly while nobody sleeps: this field keeps it.
  readonly #onPoll = (status: number): void => this.#heard(status);
  #watching = false;
  #closed = false;

  private constructor(fd: number, inode: number) {
    this.#fd = fd;
    this.inode = inode;
    this.#watch = native.fdWatch.adopt(fd, this.#onPoll);
  }

  /**
   * Makes the bell of a new segment, before the segment's header is published. A FIFO
   * of ours left by an earlier channel of the same name is replaced; anything else under
   * the name is left alone and the channel has no bell.
   */
  static make(segmentPath: string, mode: number): Bell | null {
    const file = bellPath(segmentPath);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = native.bell.create(file, mode);
        return new Bell(fd, fs.fstatSync(fd).ino);
      } catch (err) {
        if (codeOf(err) !== 'EEXIST' || attempt > 0 || lstat(file)?.uid !== process.geteuid?.()) return null;
        // If this fails, so does the second mkfifo.
        removeBell(segmentPath);
      }
    }
    return null;
  }

  /** Opens the bell of an existing segment: null unless it is the FIFO of that inode. */
  static open(segmentPath: string, inode: number): Bell | null {
    let fd: number;
    try {
      fd = native.fd.open(bellPath(segmentPath), fs.constants.O_RDWR, 0);
    } catch {
      return null;
    }
    const st = fs.fstatSync(fd);
    if (!st.isFIFO() || st.ino !== inode) {
      native.fd.close(fd);
      return null;
    }
    return new Bell(fd, inode);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The FIFO's descriptor (valid until close()), for a death watch to ring it. */
  get fd(): number {
    return this.#fd;
  }

  /** Rings; false if this bell is closed (the caller then wakes the futex instead). */
  ring(): boolean {
    if (this.#closed) return false;
    native.bell.ring(this.#fd);
    return true;
  }

  /**
   * Resolves ('ok', a sleep's result) once the bell rings (or rang since it was last
   * heard), after `ms` (Infinity: no timer at all), or at close(); rejects on abort.
   */
  sleep(ms: number, signal: AbortSignal | undefined): Promise<'ok'> {
    if (this.#closed) return Promise.resolve('ok');
    return new Promise((resolve, reject) => {
      const end = (): void => {
        if (timer !== undefined) clearTimeout(timer);
        unwatch?.();
        this.#sleepers.delete(wake);
        if (this.#sleepers.size === 0 && !this.#closed) native.fdWatch.hold(this.#watch, false);
      };
      const wake = (): void => {
        end();
        resolve('ok');
      };
      this.#listen(wake);
      // setTimeout takes at most 2^31 - 1 ms (a longer delay fires at once).
      const timer = ms === Infinity ? undefined : setTimeout(wake, Math.min(ms, 2 ** 31 - 1));
      const unwatch =
        signal &&
        onAbort(signal, () => {
          end();
          reject(new AbortError(signal.reason));
        });
    });
  }

  /** Ends every sleep, then closes the descriptor. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const wake of [...this.#sleepers]) wake();
    native.fdWatch.close(this.#watch);
  }

  // The first sleeper starts the watch, or holds it if it is still running (fd_watch.cc:
  // starting it costs epoll_ctl calls). Throws before `wake` is registered anywhere.
  #listen(wake: () => void): void {
    if (this.#sleepers.size === 0) {
      if (this.#watching) native.fdWatch.hold(this.#watch, true);
      else native.fdWatch.watch(this.#watch, 1);
      this.#watching = true;
    }
    this.#sleepers.add(wake);
  }

  // Rung while nobody here sleeps: the byte is not ours to take. A consumer in another
  // process (this one's receiver has closed) may be sleeping on it, so stop watching and
  // leave it; our next sleep starts the watch again and finds it at once. A poll error
  // closes the bell: its sleepers check again what they wait for, then use the futex.
  #heard(status: number): void {
    if (status !== 0) return this.close();
    if (this.#sleepers.size === 0) {
      native.fdWatch.watch(this.#watch, 0);
      this.#watching = false;
      return;
    }
    native.bell.drain(this.#fd);
    for (const wake of [...this.#sleepers]) wake();
  }
}

function lstat(file: string): fs.Stats | null {
  try {
    return fs.lstatSync(file);
  } catch {
    return null;
  }
}

/**
 * Removes a segment's bell, if it has one (never anything but a FIFO). Best effort: a
 * bell that cannot be removed (EPERM: another user's) costs an inode, and a channel made
 * later under the name works without it.
 */
export function removeBell(segmentPath: string): void {
  const file = bellPath(segmentPath);
  if (!lstat(file)?.isFIFO()) return;
  try {
    native.shm.unlink(file);
  } catch {
    // gone meanwhile, or not ours to remove
  }
}

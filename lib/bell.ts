// A channel's bell (native/bell.cc): a FIFO beside the segment, `<segment>.bell`, that
// wakes a consumer waiting on the event loop with one wake-up instead of two (the
// futex wakes the waiter thread, which then wakes the loop). It has the segment's
// scope and permissions: whoever can open the segment can ring it. The bell only
// speeds waking up; a channel without one (removed, or never made) works through the
// futex alone (channel_wait.ts).
import * as fs from 'node:fs';
import { AbortError } from './errors';
import { native, type WatchHandle } from './native';

export const bellPath = (segmentPath: string): string => `${segmentPath}.bell`;

const codeOf = (err: unknown): unknown => (err as { code?: unknown }).code;

export class Bell {
  /** The descriptor, owned by the watch handle: valid until close(). */
  readonly #fd: number;
  readonly #watch: WatchHandle;
  readonly #sleepers = new Set<() => void>();
  // The watch holds its callback weakly while nobody sleeps: this field keeps it.
  readonly #onPoll = (status: number): void => this.#heard(status);
  #watching = false;
  #closed = false;

  private constructor(fd: number) {
    this.#fd = fd;
    this.#watch = native.fdAdopt(fd, this.#onPoll);
  }

  /**
   * Makes the bell of a new segment. A FIFO left by an earlier channel of the same name
   * is replaced; anything else under the name is left alone and the channel has no bell.
   */
  static make(segmentPath: string, mode: number): Bell | null {
    const file = bellPath(segmentPath);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        return new Bell(native.makeFifo(file, mode));
      } catch (err) {
        if (codeOf(err) !== 'EEXIST' || attempt > 0 || !isFifo(file)) return null;
        removeBell(segmentPath);
      }
    }
    return null;
  }

  /** Opens the bell of an existing segment, or null if it has none that is a FIFO. */
  static open(segmentPath: string): Bell | null {
    let fd: number;
    try {
      fd = native.openObject(bellPath(segmentPath), fs.constants.O_RDWR, 0);
    } catch {
      return null;
    }
    if (!fs.fstatSync(fd).isFIFO()) {
      native.closeFd(fd);
      return null;
    }
    return new Bell(fd);
  }

  get closed(): boolean {
    return this.#closed;
  }

  ring(): void {
    if (!this.#closed) native.bellRing(this.#fd);
  }

  /** Resolves once the bell rings (or rang since it was last heard), after `ms`, or at close(); rejects on abort. */
  sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const end = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.#sleepers.delete(wake);
        if (this.#sleepers.size === 0 && !this.#closed) native.fdHold(this.#watch, false);
      };
      const wake = (): void => {
        end();
        resolve();
      };
      const onAbort = (): void => {
        end();
        reject(new AbortError(signal!.reason));
      };
      const timer = setTimeout(wake, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#sleepers.add(wake);
      if (this.#sleepers.size > 1) return;
      // Watched from the first sleep on, held only while someone sleeps (fd_watch.cc).
      if (this.#watching) native.fdHold(this.#watch, true);
      else native.fdWatch(this.#watch, 1);
      this.#watching = true;
    });
  }

  /** Ends every sleep, then closes the descriptor. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const wake of [...this.#sleepers]) wake();
    native.fdClose(this.#watch);
  }

  // A poll error closes the bell (its sleepers check again what they wait for, then
  // sleep on the futex): watching it again would only report the error again.
  #heard(status: number): void {
    if (status !== 0) return this.close();
    native.bellDrain(this.#fd);
    for (const wake of [...this.#sleepers]) wake();
  }
}

function isFifo(file: string): boolean {
  try {
    return fs.lstatSync(file).isFIFO();
  } catch {
    return false;
  }
}

/** Removes a segment's bell, if it has one (never anything but a FIFO). */
export function removeBell(segmentPath: string): void {
  const file = bellPath(segmentPath);
  if (!isFifo(file)) return;
  try {
    native.unlinkObject(file);
  } catch (err) {
    if (codeOf(err) !== 'ENOENT') throw err;
  }
}

// A channel's bell (native/bell.cc): a FIFO beside the segment, `<segment>.bell`, that
// wakes a consumer waiting on the event loop with one wake-up instead of two (the
// futex wakes the waiter thread, which then wakes the loop). It has the segment's
// scope and permissions: whoever can open the segment can ring it. The creator records
// the FIFO's inode in the header, and openers take only that FIFO. The bell only speeds
// waking up; a channel without one works through the futex alone (channel_wait.ts).
import * as fs from 'node:fs';
import { native, type WatchHandle } from '../addon/native';

/** Who sleeps on a bell (lib/channel/wait.ts). */
export interface BellSleeper {
  /** The bell rang, or closed: this sleep has ended. */
  rung(): void;
}

export const bellPath = (segmentPath: string): string => `${segmentPath}.bell`;

const codeOf = (err: unknown): unknown => (err as { code?: unknown }).code;

export class Bell {
  /** The FIFO's inode, for openers to check that they have the creator's. */
  readonly inode: number;
  /** The descriptor, owned by the watch handle: valid until close(). */
  readonly #fd: number;
  readonly #watch: WatchHandle;
  // One at a time: the wait of the channel's one consumer (a receive at a time).
  #sleeper: BellSleeper | null = null;
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
   * Starts hearing the bell for `sleeper`: its rung() is called once, when the bell rings
   * (or rang since it was last heard) or closes. False if it is closed already. Throws
   * (the watch could not start) with nothing registered.
   */
  listen(sleeper: BellSleeper): boolean {
    if (this.#closed) return false;
    if (this.#sleeper !== null) throw new Error('internal: a bell has one sleeper at a time');
    // The sleeper starts the watch, or holds it if it is still running (fd_watch.cc:
    // starting it costs epoll_ctl calls).
    if (this.#watching) native.fdWatch.hold(this.#watch, true);
    else native.fdWatch.watch(this.#watch, 1);
    this.#watching = true;
    this.#sleeper = sleeper;
    return true;
  }

  /** Stops hearing it for `sleeper` (its sleep ended otherwise: a deadline, an abort). */
  unlisten(sleeper: BellSleeper): void {
    if (this.#sleeper !== sleeper) return;
    this.#sleeper = null;
    if (!this.#closed) native.fdWatch.hold(this.#watch, false);
  }

  /** Ends the sleep, then closes the descriptor. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#wake();
    native.fdWatch.close(this.#watch);
  }

  // Rung while nobody here sleeps: the byte is not ours to take. A consumer in another
  // process (this one's receiver has closed) may be sleeping on it, so stop watching and
  // leave it; our next sleep starts the watch again and finds it at once. A poll error
  // closes the bell: its sleeper checks again what it waits for, then uses the futex.
  #heard(status: number): void {
    if (status !== 0) return this.close();
    if (this.#sleeper === null) {
      native.fdWatch.watch(this.#watch, 0);
      this.#watching = false;
      return;
    }
    native.bell.drain(this.#fd);
    this.#wake();
  }

  // The sleeper is told once; it may listen again from its rung(), for the next ring.
  #wake(): void {
    const sleeper = this.#sleeper;
    if (sleeper === null) return;
    this.unlisten(sleeper);
    sleeper.rung();
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

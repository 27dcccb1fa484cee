// Hearing of one participant's end on the event loop, without looking: a death watch
// (lib/liveness/watch.ts) on its liveness slot swaps a private futex word of this
// process from 0 to 1, and a wait on that word calls back. A notice armed while nobody
// holds the slot fires at once.
import * as path from 'node:path';
import { native, type MappingHandle } from '../addon/native';
import { sys } from '../core/errors';
import { LivenessProbe } from '../liveness/presence';
import { SLICE_MS } from '../wait/loop';

const WORDS = 1024;

// Small unnamed tmpfs mappings, made as needed in the directory of the file watched (a
// tmpfs podshm already uses), hold the notices' words: one page per 1024 notices at once.
interface Word {
  readonly i32: Int32Array;
  readonly handle: MappingHandle;
  readonly index: number;
}
const free: Word[] = [];

function takeWord(dir: string): Word {
  if (free.length === 0) {
    const fd = sys(dir, () => native.createUnnamed(dir, 0o600));
    try {
      native.allocate(fd, WORDS * 4);
      const range = native.mapFd(fd, WORDS * 4, false);
      const i32 = new Int32Array(range.buffer);
      for (let index = WORDS - 1; index >= 0; index--) free.push({ i32, handle: range.handle, index });
    } finally {
      native.closeFd(fd);
    }
  }
  const word = free.pop()!;
  Atomics.store(word.i32, word.index, 0);
  return word;
}

export class DeathNotice {
  readonly #probe: LivenessProbe;
  readonly #offset: number;
  readonly #onDeath: () => void;
  readonly #word: Word;
  #watch: ReturnType<LivenessProbe['watchDeath']> = null;
  #wait = -1;
  #poll: NodeJS.Timeout | null = null;
  #closed = false;

  /** Watches lock offset `offset` of `file`; `onDeath` is called once, at its end. */
  constructor(file: string, offset: number, onDeath: () => void) {
    this.#probe = new LivenessProbe(file);
    try {
      this.#word = takeWord(path.dirname(file));
    } catch (err) {
      this.#probe.close();
      throw err;
    }
    this.#offset = offset;
    this.#onDeath = onDeath;
  }

  /** "dev:ino" of the file watched. */
  fileId(): string {
    return this.#probe.fileId();
  }

  /**
   * Whether the watch has seen the end, while nobody listened (a load of the word, no
   * system call); if so, the notice fires now.
   */
  ended(): boolean {
    if (this.#closed || Atomics.load(this.#word.i32, this.#word.index) !== 1) return this.#closed;
    this.#fire();
    return true;
  }

  /** Whether the participant holds its slot now (a system call). */
  alive(): boolean {
    return this.#probe.isAlive(this.#offset);
  }

  /**
   * Listens on the event loop (which it keeps alive) until the participant ends or
   * pause(); the watch thread itself stays armed across pauses.
   */
  listen(): void {
    if (this.#closed || this.#wait >= 0 || this.#poll !== null) return;
    const w = this.#word;
    if (Atomics.load(w.i32, w.index) === 0 && this.#watch === null) {
      this.#watch = this.#probe.watchDeath(this.#offset, 1, w.handle, w.index * 4, -1, 0, 1, -1);
    }
    if (this.#watch === null) {
      // No thread to be had (a pids limit): look every slice instead.
      this.#poll = setInterval(() => {
        if (!this.alive()) this.#fire();
      }, SLICE_MS);
      return;
    }
    this.#wait = native.waitAsync(w.handle, w.index * 4, 0, -1, () => {
      this.#wait = -1;
      if (Atomics.load(w.i32, w.index) === 1) this.#fire();
      else this.listen();
    });
  }

  /** Stops keeping the event loop alive (a fired notice stays fired). */
  pause(): void {
    if (this.#wait >= 0) native.cancelWait(this.#wait);
    this.#wait = -1;
    if (this.#poll !== null) clearInterval(this.#poll);
    this.#poll = null;
  }

  close(): void {
    if (this.#closed) return;
    this.pause();
    this.#closed = true;
    if (this.#watch !== null) native.deathUnwatch(this.#watch);
    this.#watch = null;
    this.#probe.close();
    free.push(this.#word);
  }

  #fire(): void {
    if (this.#closed) return;
    this.close();
    this.#onDeath();
  }
}

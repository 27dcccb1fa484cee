// Hearing of one participant's end on the event loop, without looking: a death watch
// (lib/liveness/watch.ts) on its liveness slot swaps a private futex word of this
// process from 0 to 1, and a wait on that word calls back. A notice armed while nobody
// holds the slot fires at once.
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { AbortError } from '../core/errors';
import { LivenessProbe } from '../liveness/presence';
import { PeerWatch } from '../liveness/watch';
import { SharedMemory } from '../shm/shared_memory';
import { FutexWord } from '../wait/futex';
import { SLICE_MS } from '../wait/loop';

const WORDS = 1024;

// Small tmpfs mappings, made as needed in the directory of the file watched (a tmpfs
// podshm already uses) and unlinked at once, hold the notices' words: one per 1024
// notices at once.
interface Word {
  readonly shm: SharedMemory;
  readonly i32: Int32Array;
  readonly index: number;
  readonly futex: FutexWord;
}
const free: Word[] = [];

function takeWord(dir: string): Word {
  if (free.length === 0) {
    const shm = SharedMemory.create(`/podshm-notices-${process.pid}-${randomBytes(6).toString('hex')}`, WORDS * 4, { dir });
    shm.unlink();
    const i32 = new Int32Array(shm.buffer);
    for (let index = WORDS - 1; index >= 0; index--) free.push({ shm, i32, index, futex: new FutexWord(shm.mapping, index * 4) });
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
  readonly #watch: PeerWatch;
  #armed = false;
  #listening: AbortController | null = null;
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
    this.#watch = new PeerWatch(this.#probe);
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

  /**
   * Whether the participant has ended: the watch's word if it is armed, else a look (a
   * system call), for a thread that cannot listen on the event loop. If so, the notice fires now.
   */
  check(): boolean {
    if (this.ended()) return true;
    if (this.#armed || this.alive()) return false;
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
    if (this.#closed || this.#listening !== null || this.#poll !== null) return;
    const w = this.#word;
    if (!this.#armed) {
      this.#armed = this.#watch.arm(this.#offset, 1, { handle: w.shm.mapping.handle, byteOffset: w.index * 4, flagOffset: -1, from: 0, to: 1, bellFd: -1 });
      if (!this.#armed) return this.#pollInstead();
    }
    const ac = (this.#listening = new AbortController());
    w.futex.wait(0, { signal: ac.signal }).then(
      () => {
        if (this.#listening !== ac) return;
        this.#listening = null;
        if (Atomics.load(w.i32, w.index) === 1) this.#fire();
        else this.listen();
      },
      (err: unknown) => {
        if (this.#listening !== ac) return;
        this.#listening = null;
        // The event loop cannot wait on a futex here (ENOSYS before Linux 5.16).
        if (!(err instanceof AbortError)) this.#pollInstead();
      },
    );
  }

  /** Stops keeping the event loop alive (a fired notice stays fired). */
  pause(): void {
    this.#listening?.abort();
    this.#listening = null;
    if (this.#poll !== null) clearInterval(this.#poll);
    this.#poll = null;
  }

  close(): void {
    if (this.#closed) return;
    this.pause();
    this.#closed = true;
    this.#watch.close();
    this.#probe.close();
    free.push(this.#word);
  }

  // No watch thread to be had (a pids limit), or no wait on it: look every slice instead.
  #pollInstead(): void {
    this.#poll = setInterval(() => {
      if (!this.alive()) this.#fire();
    }, SLICE_MS);
  }

  #fire(): void {
    if (this.#closed) return;
    this.close();
    this.#onDeath();
  }
}

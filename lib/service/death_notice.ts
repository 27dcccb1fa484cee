// Hearing of one participant's end on the event loop, without looking: a death watch
// (lib/liveness/watch.ts) on its liveness slot swaps a private futex word of this
// process from 0 to 1, and a wait on that word calls back. A notice armed while nobody
// holds the slot fires at once.
import { native, type MappingHandle } from '../addon/native';
import { sys } from '../core/errors';
import { LivenessProbe } from '../liveness/presence';
import { SLICE_MS } from '../wait/loop';

const WORDS = 1024;

// One small unnamed tmpfs mapping per thread holds every notice's word.
let pool: { i32: Int32Array; handle: MappingHandle; free: number[] } | null = null;

function words(): NonNullable<typeof pool> {
  if (pool !== null) return pool;
  const fd = sys('/dev/shm', () => native.createUnnamed('/dev/shm', 0o600));
  try {
    native.allocate(fd, WORDS * 4);
    const range = native.mapFd(fd, WORDS * 4, false);
    pool = { i32: new Int32Array(range.buffer), handle: range.handle, free: Array.from({ length: WORDS }, (_, i) => WORDS - 1 - i) };
    return pool;
  } finally {
    native.closeFd(fd);
  }
}

export class DeathNotice {
  readonly #probe: LivenessProbe;
  readonly #offset: number;
  readonly #onDeath: () => void;
  readonly #index: number;
  #watch: ReturnType<LivenessProbe['watchDeath']> = null;
  #wait = -1;
  #poll: NodeJS.Timeout | null = null;
  #closed = false;

  /** Watches lock offset `offset` of the file at `path`; `onDeath` is called once, at its end. */
  constructor(path: string, offset: number, onDeath: () => void) {
    const p = words();
    const index = p.free.pop();
    if (index === undefined) throw new Error('unreachable: more than 1024 death notices in one thread');
    this.#index = index;
    this.#probe = new LivenessProbe(path);
    this.#offset = offset;
    this.#onDeath = onDeath;
    Atomics.store(p.i32, index, 0);
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
    const p = pool!;
    if (Atomics.load(p.i32, this.#index) === 0 && this.#watch === null) {
      this.#watch = this.#probe.watchDeath(this.#offset, 1, p.handle, this.#index * 4, -1, 0, 1, -1);
    }
    if (this.#watch === null) {
      // No thread to be had (a pids limit): look every slice instead.
      this.#poll = setInterval(() => {
        if (!this.alive()) this.#fire();
      }, SLICE_MS);
      return;
    }
    this.#wait = native.waitAsync(p.handle, this.#index * 4, 0, -1, () => {
      this.#wait = -1;
      if (Atomics.load(p.i32, this.#index) === 1) this.#fire();
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
    pool!.free.push(this.#index);
  }

  #fire(): void {
    if (this.#closed) return;
    this.close();
    this.#onDeath();
  }
}

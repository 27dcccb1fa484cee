// How a channel side waits for the other: the slow path only. The fast path (data or
// space is there) never gets here and makes no system call.
//
// The sleep protocol, the same for both directions: a sleeper reads a sequence word,
// raises the "sleeping" flag, re-checks its condition, and sleeps on the futex only if
// the word still holds what it read. The other side, after publishing, reads the flag
// (a plain load) and, only if it is set, clears it with an exchange and, if it was the
// one to clear it, bumps the word and wakes every sleeper. All the steps are
// sequentially consistent, so a publication is either seen by the re-check or bumps
// the word before the sleep (the futex then returns at once). The waker clears the
// flag so that one sleep costs one wake system call, not one per message published
// while the sleeper is being scheduled. The word is read before the flag is raised
// because a waker may be late: one that published an earlier message can clear a flag
// raised for the next one. Its bump then comes after the read, so the sleep returns
// at once and the loop raises the flag again; read after the flag, the bumped word
// would be slept on with the flag down, and the next message would wake nobody (an
// exhaustive check of the interleavings of two sides, or of two producers and the
// consumer, finds such states in that order and none in this one). A flag or word a
// hostile peer scribbles on can cost a spurious wake-up or one sleep slice, never a
// hang: every sleep is bounded.
//
// The flag also says how the sleeper sleeps: ON_FUTEX, or ON_BELL for a consumer on
// the event loop that watches the channel's bell (bell.ts). A producer that cannot
// open the bell raises the header word `bellOff`, and consumers then sleep on the
// futex: a ring it could not make would cost the consumer a whole sleep slice.
import type { Bell } from './bell';
import { AbortError, SystemError } from './errors';
import type { WaitStrategy } from './channel_layout';
import { native, type MappingHandle } from './native';

/** The longest `adaptive` spins before it sleeps: about the cost of a futex wake-up here (DESIGN.md 2.5). */
export const SPIN_NS = 20_000;
const MIN_SPIN_NS = 500;
/**
 * How long `block` checks before it sleeps: a peer that is running answers a small
 * message within about a microsecond, and the sleep and wake-up this saves cost 10 to
 * 25 µs here, so a round trip whose answer comes that soon never sleeps (docs/channel.md,
 * Targets). It bounds the CPU an idle `block` side burns to this per wait.
 */
export const BLOCK_SPIN_NS = 2_000;
/** Longest single sleep: how soon a peer that died without a word is noticed. */
export const SLICE_MS = 100;

/**
 * Whether a plain load that follows an Atomics.store is ordered after it. V8 makes
 * every Atomics call cost tens of ns, so the fast paths read the sleeping flags with
 * plain loads where the hardware keeps store-load order after a sequentially
 * consistent store (x86: V8's Atomics.store is an xchg, a full fence), and with
 * Atomics.load elsewhere (arm64's stlr lets a later plain load pass it).
 */
export const PLAIN_LOADS_ORDERED = process.arch === 'x64' || process.arch === 'ia32';

/** One direction's sleeping place: a sleeping flag and the futex word beside it. */
export interface Sleeper {
  readonly i32: Int32Array;
  readonly handle: MappingHandle;
  /** Int32 index of the sleeping flag. */
  readonly flag: number;
  /** Int32 index of the futex word. */
  readonly seq: number;
  /** The direction with a single sleeper (the consumer's) may also have a bell. */
  readonly bell: Bell | null;
  /** Int32 index of the word producers raise when they cannot ring the bell. */
  readonly bellOff: number;
}

const ON_FUTEX = 1;
const ON_BELL = 2;

/**
 * Wakes every sleeper of `s`, if there is one (called right after the side's
 * Atomics.store that published); true if it woke (a bell ring or a futex wake), for
 * the caller's wake-up counter.
 */
export function wake(s: Sleeper): boolean {
  if ((PLAIN_LOADS_ORDERED ? s.i32[s.flag] : Atomics.load(s.i32, s.flag)) === 0) return false;
  const how = Atomics.exchange(s.i32, s.flag, 0);
  if (how === ON_BELL && s.bell !== null && s.bell.ring()) return true;
  // ON_FUTEX, or whatever a hostile peer wrote: the futex reaches every sleeper.
  if (how === 0) return false;
  Atomics.add(s.i32, s.seq, 1);
  native.futexWake(s.handle, s.seq << 2, 0x7fffffff);
  return true;
}

// A wait longer than this means the peer was not running (about a scheduler time slice).
const PEER_AWAY_MS = 1;

/**
 * One waiting side's spin budget, adapted as an adaptive mutex adapts its own: doubled
 * (up to SPIN_NS) when the peer answers while it runs, halved when a wait shows it was
 * not running. When there are more runnable processes than cores the peer is often off
 * its core for a time slice, and spinning against it only delays it; the budget then
 * shrinks. A wait that ended in a sleep still counts as answered if it took less than
 * PEER_AWAY_MS: judging it by the spin alone would keep a budget that had shrunk below
 * the peer's usual answer time shrunk for ever, every wait paying a sleep and a wake-up
 * (20 to 100 µs here) for an answer that a spin would have caught.
 */
export class SpinBudget {
  ns = SPIN_NS;
  /** The spin saw what it waited for. */
  hit(): void {
    this.ns = Math.min(SPIN_NS, this.ns * 2);
  }
  /** The spin gave up, and the whole wait took `waitedMs`. */
  slept(waitedMs: number): void {
    if (waitedMs < PEER_AWAY_MS) this.hit();
    else this.ns = Math.max(MIN_SPIN_NS, this.ns / 2);
  }
}

export interface WaitPlan<T> {
  /** Returns the result, or undefined if not ready yet. May throw (corruption). */
  attempt(): T | undefined;
  /** Throws if the peer has gone (a system call: called only on slow paths). */
  checkPeer(): void;
  /** Called as the side is about to sleep (a slow path: a clock read costs nothing here). */
  sleeping?(): void;
  sleeper: Sleeper;
  strategy: WaitStrategy;
  budget: SpinBudget;
  deadline: number;
  /** The object's name and what is being waited for, for the ETIMEDOUT error. */
  object: string;
  what: string;
}

function timedOut(plan: WaitPlan<unknown>): SystemError {
  return new SystemError('ETIMEDOUT', 'channel', plan.object, `timed out waiting for ${plan.what}`);
}

/** How long a wait that may sleep spins first, in ms. */
function spinMs(plan: WaitPlan<unknown>): number {
  return (plan.strategy === 'block' ? BLOCK_SPIN_NS : plan.budget.ns) / 1e6;
}

/** Spins on attempt(); returns its result, or undefined when the strategy says to sleep instead. */
function spin<T>(plan: WaitPlan<T>, budgetMs: number): T | undefined {
  const start = performance.now();
  let lastPeerCheck = start;
  for (let i = 1; ; i++) {
    const r = plan.attempt();
    if (r !== undefined) return r;
    if ((i & 15) !== 0) continue;
    const now = performance.now();
    if (now >= plan.deadline) {
      // A peer that has gone is the better answer than a timeout (so does a sleep's end).
      plan.checkPeer();
      throw timedOut(plan);
    }
    if (now - start >= budgetMs) return undefined;
    if (now - lastPeerCheck >= SLICE_MS) {
      plan.checkPeer();
      lastPeerCheck = now;
    }
  }
}

/** Blocks this thread until attempt() succeeds, the deadline passes (ETIMEDOUT) or the peer goes (checkPeer throws). */
export function waitSync<T>(plan: WaitPlan<T>): T {
  const start = performance.now();
  const r = spin(plan, plan.strategy === 'spin' ? Infinity : spinMs(plan));
  if (r !== undefined) {
    plan.budget.hit();
    return r;
  }
  const slept = sleepSync(plan);
  plan.budget.slept(performance.now() - start);
  return slept;
}

function sleepSync<T>(plan: WaitPlan<T>): T {
  const { i32, handle, flag, seq } = plan.sleeper;
  for (;;) {
    // The word first (see the top of this file). The flag is raised before every
    // sleep and cleared by the waker (never by us: another sleeper of the same
    // direction may have raised it too).
    const expected = Atomics.load(i32, seq);
    Atomics.store(i32, flag, ON_FUTEX);
    let r = plan.attempt();
    if (r === undefined) {
      const left = plan.deadline - performance.now();
      plan.sleeping?.();
      if (left > 0) native.futexWait(handle, seq << 2, expected >>> 0, Math.ceil(Math.min(left, SLICE_MS)));
      r = plan.attempt();
    }
    if (r !== undefined) return r;
    // Woken without what we wait for, or a slice ended: a peer may have gone.
    plan.checkPeer();
    if (performance.now() >= plan.deadline) throw timedOut(plan);
  }
}

/** The same without blocking the event loop: a short spin, then the bell or the per-process waiter thread. */
export async function waitAsync<T>(plan: WaitPlan<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal?.aborted) throw new AbortError(signal.reason);
  const start = performance.now();
  // Bounded even for 'spin' (by adaptive's budget): spinning here holds the event loop.
  const r = spin(plan, spinMs(plan));
  if (r !== undefined) {
    plan.budget.hit();
    return r;
  }
  const slept = await sleepAsyncUntil(plan, signal);
  plan.budget.slept(performance.now() - start);
  return slept;
}

async function sleepAsyncUntil<T>(plan: WaitPlan<T>, signal: AbortSignal | undefined): Promise<T> {
  const { i32, handle, flag, seq, bell, bellOff } = plan.sleeper;
  for (;;) {
    if (signal?.aborted) throw new AbortError(signal.reason);
    const onBell = bell !== null && !bell.closed && Atomics.load(i32, bellOff) === 0;
    // As in sleepSync(). A late ring for an earlier message stays in the FIFO, so the
    // bell, like the word, wakes this sleep at once.
    const expected = Atomics.load(i32, seq);
    Atomics.store(i32, flag, onBell ? ON_BELL : ON_FUTEX);
    let r = plan.attempt();
    if (r === undefined) {
      const left = plan.deadline - performance.now();
      const ms = Math.ceil(Math.min(left, SLICE_MS));
      plan.sleeping?.();
      if (left > 0) await (onBell ? bell.sleep(ms, signal) : sleepAsync(handle, seq << 2, expected >>> 0, ms, signal));
      r = plan.attempt();
    }
    if (r !== undefined) return r;
    plan.checkPeer();
    if (performance.now() >= plan.deadline) throw timedOut(plan);
  }
}

function sleepAsync(handle: MappingHandle, offset: number, expected: number, ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      native.cancelWait(id);
      reject(new AbortError(signal!.reason));
    };
    // 'closed' (this process closed the channel) resolves too: the caller's next
    // attempt reports the closed channel.
    const id = native.waitAsync(handle, offset, expected, ms, (result) => {
      signal?.removeEventListener('abort', onAbort);
      if (result === 'error') reject(new SystemError('ENOSYS', 'futex_waitv', undefined, 'asynchronous waits need Linux 5.16 or later'));
      else resolve();
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

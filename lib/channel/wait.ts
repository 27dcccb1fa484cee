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
// hostile peer scribbles on can cost a spurious wake-up, never a hang: a sleep ends at
// its deadline, and the peer's death is an event (below).
//
// A sleep has no period: before it, the side arms a death watch (lib/liveness/watch.ts)
// on the peers it depends on, which changes the futex word and rings the bell when
// they have all gone, so their death wakes the sleep like a message would. A side
// whose watch cannot start (no thread to be had) bounds its sleeps to SLICE_MS and
// looks after each, as before.
//
// The flag also says how the sleeper sleeps: ON_FUTEX, or ON_BELL for a consumer on
// the event loop that watches the channel's bell (bell.ts). A producer that cannot
// open the bell raises the header word `bellOff`, and consumers then sleep on the
// futex: a ring it could not make would cost the consumer a whole sleep slice.
import type { Bell } from './bell';
import { AbortError, SystemError } from '../core/errors';
import type { WaitStrategy } from './layout';
import { native, type MappingHandle } from '../addon/native';
import { SLICE_MS, futexSleep, runAsync, runSync, type Sleep, type WaitOp } from '../wait/loop';
import { spinFor, type SpinBudget } from '../wait/spin';

/**
 * How long `block` checks before it sleeps: a peer that is running answers a small
 * message within about a microsecond, and the sleep and wake-up this saves cost 10 to
 * 25 µs here, so a round trip whose answer comes that soon never sleeps (docs/performance.md,
 * Targets). It bounds the CPU an idle `block` side burns to this per wait.
 */
export const BLOCK_SPIN_NS = 2_000;

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

/** @internal Sleeps begun by channel waits in this thread, for tests: an idle wait begins one. */
export const sleepCount = { value: 0 };

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
  native.futex.wake(s.handle, s.seq << 2, 0x7fffffff);
  return true;
}

export interface WaitPlan<T> {
  /** Returns the result, or undefined if not ready yet. May throw (corruption). */
  attempt(): T | undefined;
  /** Throws if the peer has gone (a system call: called only on slow paths). */
  checkPeer(): void;
  /** Called as the side is about to sleep (a slow path: a clock read costs nothing here). */
  sleeping?(): void;
  /**
   * Arms the death watch of the peers this wait depends on (called with the sleeping
   * flag raised, right before a sleep); false if it could not, and the sleep must then
   * be bounded.
   */
  watchPeer(): boolean;
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
  let lastPeerCheck = performance.now();
  return spinFor(plan.attempt, budgetMs, (now) => {
    if (now >= plan.deadline) {
      // A peer that has gone is the better answer than a timeout (so does a sleep's end).
      plan.checkPeer();
      throw timedOut(plan);
    }
    if (now - lastPeerCheck >= SLICE_MS) {
      plan.checkPeer();
      lastPeerCheck = now;
    }
  });
}

/** Blocks this thread until attempt() succeeds, the deadline passes (ETIMEDOUT) or the peer goes (checkPeer throws). */
export function waitSync<T>(plan: WaitPlan<T>): T {
  const start = performance.now();
  const r = spin(plan, plan.strategy === 'spin' ? Infinity : spinMs(plan));
  if (r !== undefined) {
    plan.budget.hit();
    return r;
  }
  const slept = runSync(sleep(plan, false));
  plan.budget.slept(performance.now() - start);
  return slept;
}

/** The same without blocking the event loop: a short spin, then the bell or the per-process waiter thread. */
export async function waitAsync<T>(plan: WaitPlan<T>, signal: AbortSignal | undefined): Promise<T> {
  // What the caller set going before it came to wait (a promise its last message
  // settled) runs first: the spin and the sleep's set-up would otherwise hold it up by
  // several µs (docs/performance.md, "Latency at a fixed rate").
  await undefined;
  if (signal?.aborted) throw new AbortError(signal.reason);
  const start = performance.now();
  // Bounded even for 'spin' (by adaptive's budget): spinning here holds the event loop.
  const r = spin(plan, spinMs(plan));
  if (r !== undefined) {
    plan.budget.hit();
    return r;
  }
  const slept = await runAsync(sleep(plan, true), signal);
  plan.budget.slept(performance.now() - start);
  return slept;
}

/**
 * The sleep loop, for either driver (lib/wait/loop.ts). A sleep lasts until a wake, a
 * peer's death (its watch) or the deadline. On the event loop, a consumer
 * whose bell works sleeps on the bell; a late ring for an earlier message stays in the
 * FIFO, so the bell, like the word, ends this sleep at once. A sleep that ends 'closed'
 * (this process closed the channel) is followed by an attempt, which reports it.
 */
function* sleep<T>(plan: WaitPlan<T>, onEventLoop: boolean): WaitOp<T> {
  const { i32, handle, flag, seq, bell, bellOff } = plan.sleeper;
  for (;;) {
    const onBell = onEventLoop && bell !== null && !bell.closed && Atomics.load(i32, bellOff) === 0;
    // The word first (see the top of this file). The flag is raised before every
    // sleep and cleared by the waker (never by us: another sleeper of the same
    // direction may have raised it too).
    const expected = Atomics.load(i32, seq);
    Atomics.store(i32, flag, onBell ? ON_BELL : ON_FUTEX);
    let r = plan.attempt();
    if (r === undefined) {
      // After the flag: a peer that attaches from now on sees it and wakes us, and one
      // that attached before is watched.
      const heard = plan.watchPeer();
      const left = plan.deadline - performance.now();
      const ms = Math.ceil(heard ? left : Math.min(left, SLICE_MS));
      plan.sleeping?.();
      if (left > 0) {
        const s: Sleep = onBell ? { on: 'event', target: bell, ms } : futexSleep(i32, seq, handle, expected, ms);
        sleepCount.value++;
        yield s;
      }
      r = plan.attempt();
    }
    if (r !== undefined) return r;
    // Woken without what we wait for: a peer may have gone.
    plan.checkPeer();
    if (performance.now() >= plan.deadline) throw timedOut(plan);
  }
}

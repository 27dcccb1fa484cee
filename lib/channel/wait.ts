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
import type { Bell, BellSleeper } from './bell';
import { AbortError, SystemError } from '../core/errors';
import { onAbort } from '../core/timeout';
import type { WaitStrategy } from './layout';
import { native, type MappingHandle } from '../addon/native';
import { SLICE_MS, blockOn, sleepOnWaiter } from '../wait/loop';
import { spinFor, type SpinBudget } from '../wait/spin';

/**
 * How long `block` checks before it sleeps: a peer that is running answers a small
 * message within one to three microseconds (its own receive and send in JavaScript),
 * and the sleep and wake-up this saves cost 10 to 130 µs on the machines measured, so a
 * round trip whose answer comes that soon never sleeps (docs/performance.md, "The spin
 * of block"). It bounds the CPU an idle `block` side burns to this per wait.
 */
export const BLOCK_SPIN_NS = 5_000;

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
  /** The wait under way on the event loop, if any: its owner ends it at close(). */
  waiting?: { cancel(err: unknown): void } | null;
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

// The wait spin() ticks for, and when it last looked at the peer: module state rather
// than a closure per spin (garbage per message), as spins never nest.
let spinning: WaitPlan<unknown> | null = null;
let lastPeerCheck = 0;

function spinTick(now: number): void {
  if (now - lastPeerCheck < SLICE_MS) return;
  // What the check finds (the last message of producers that have gone) the next attempt takes.
  spinning!.checkPeer();
  lastPeerCheck = now;
}

/**
 * Spins on attempt(); returns its result, or undefined when the strategy says to sleep
 * instead or the deadline has come (the sleep loop then reports the timeout).
 */
function spin<T>(plan: WaitPlan<T>, budgetMs: number): T | undefined {
  spinning = plan;
  lastPeerCheck = performance.now();
  try {
    return spinFor(plan.attempt, Math.min(budgetMs, plan.deadline - lastPeerCheck), spinTick);
  } finally {
    spinning = null;
  }
}

/** Blocks this thread until attempt() succeeds, the deadline passes (ETIMEDOUT) or the peer goes (checkPeer throws). */
export function waitSync<T>(plan: WaitPlan<T>): T {
  const start = performance.now();
  let r = spin(plan, plan.strategy === 'spin' ? Infinity : spinMs(plan));
  if (r !== undefined) {
    plan.budget.hit();
    return r;
  }
  const { handle, seq } = plan.sleeper;
  const wait = new Wait(plan, false);
  do {
    r = wait.prepare();
    if (r === undefined) {
      if (wait.ms > 0) blockOn(handle, seq << 2, wait.expected, wait.ms);
      r = wait.woken();
    }
  } while (r === undefined);
  plan.budget.slept(performance.now() - start);
  return r;
}

const SETTLED = Promise.resolve();

/** The same without blocking the event loop: a short spin, then the bell or the per-process waiter thread. */
export function waitAsync<T>(plan: WaitPlan<T>, signal: AbortSignal | undefined): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    // What the caller set going before it came to wait (a promise its last message
    // settled) runs first: the spin and the sleep's set-up would otherwise hold it up by
    // several µs (docs/performance.md, "Latency at a fixed rate").
    // (A promise reaction, not queueMicrotask(), which allocates an async resource per call.)
    SETTLED.then(new AsyncWait(plan, signal, resolve, reject).begin);
  });
}

/**
 * One wait's sleeps, for either driver. A sleep lasts until a wake, a peer's death (its
 * watch) or the deadline. On the event loop, a consumer whose bell works sleeps on the
 * bell; a late ring for an earlier message stays in the FIFO, so the bell, like the
 * word, ends this sleep at once. A sleep that ends because this process closed the
 * channel is followed by an attempt, which reports it.
 */
class Wait<T> {
  readonly plan: WaitPlan<T>;
  readonly #onEventLoop: boolean;
  /** The sleep prepare() set up: the futex word's value, how long, and whether on the bell. */
  expected = 0;
  ms = 0;
  onBell = false;

  constructor(plan: WaitPlan<T>, onEventLoop: boolean) {
    this.plan = plan;
    this.#onEventLoop = onEventLoop;
  }

  /**
   * Raises the sleeping flag and looks once more: the result, or undefined with the
   * sleep to take (none if `ms` is 0: the deadline has come).
   */
  prepare(): T | undefined {
    const plan = this.plan;
    const { i32, flag, seq, bell, bellOff } = plan.sleeper;
    this.onBell = this.#onEventLoop && bell !== null && !bell.closed && Atomics.load(i32, bellOff) === 0;
    // The word first (see the top of this file). The flag is raised before every
    // sleep and cleared by the waker (never by us: another sleeper of the same
    // direction may have raised it too).
    this.expected = Atomics.load(i32, seq);
    Atomics.store(i32, flag, this.onBell ? ON_BELL : ON_FUTEX);
    const r = plan.attempt();
    if (r !== undefined) return r;
    this.ms = 0;
    if (performance.now() >= plan.deadline) return undefined;
    // After the flag: a peer that attaches from now on sees it and wakes us, and one
    // that attached before is watched.
    const heard = plan.watchPeer();
    const left = plan.deadline - performance.now();
    if (left <= 0) return undefined;
    this.ms = Math.ceil(heard ? left : Math.min(left, SLICE_MS));
    plan.sleeping?.();
    sleepCount.value++;
    return undefined;
  }

  /** After a sleep: the result, or undefined to sleep again; throws if the peer has gone or the deadline has passed. */
  woken(): T | undefined {
    const plan = this.plan;
    const r = plan.attempt();
    if (r !== undefined) return r;
    // Woken without what we wait for: a peer may have gone (a better answer than a timeout).
    plan.checkPeer();
    if (performance.now() < plan.deadline) return undefined;
    // The check may have found the last message of producers that have gone: that, not a timeout.
    const last = plan.attempt();
    if (last !== undefined) return last;
    throw timedOut(plan);
  }
}

/**
 * The event loop's driver: one promise per wait, settled from the bell's or the waiter
 * thread's callback itself, with no generator or promise between (each would be garbage
 * per message and a microtask on the wake-up path).
 */
class AsyncWait<T> extends Wait<T> implements BellSleeper {
  readonly #signal: AbortSignal | undefined;
  readonly #resolve: (value: T) => void;
  readonly #reject: (err: unknown) => void;
  #start = 0;
  /** What the current sleep must undo when it ends otherwise than by its own wake. */
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;
  #waiter = -1;
  #unwatch: (() => void) | undefined = undefined;
  #settled = false;

  constructor(plan: WaitPlan<T>, signal: AbortSignal | undefined, resolve: (value: T) => void, reject: (err: unknown) => void) {
    super(plan, true);
    this.#signal = signal;
    this.#resolve = resolve;
    this.#reject = reject;
    plan.waiting = this;
  }

  readonly begin = (): void => {
    if (this.#settled) return; // cancelled before it began
    try {
      if (this.#signal?.aborted) throw new AbortError(this.#signal.reason);
      this.#start = performance.now();
      // Bounded even for 'spin' (by adaptive's budget): spinning here holds the event loop.
      const r = spin(this.plan, spinMs(this.plan));
      if (r !== undefined) {
        this.plan.budget.hit();
        this.#settle(r);
      } else {
        this.#sleepOrSettle(undefined);
      }
    } catch (err) {
      this.#fail(err);
    }
  };

  /** Ends the wait now with `err`, whatever it is doing (its owner closed). */
  cancel(err: unknown): void {
    if (!this.#settled) this.#fail(err);
  }

  /** The bell rang (or closed). */
  rung(): void {
    this.#ended();
  }

  // Sleeps again until a sleep is under way, or settles; `r` is what a wake found.
  #sleepOrSettle(r: T | undefined): void {
    while (r === undefined) {
      r = this.prepare();
      if (r !== undefined) break;
      if (this.ms > 0 && this.#sleep()) return;
      r = this.woken();
    }
    this.plan.budget.slept(performance.now() - this.#start);
    this.#settle(r);
  }

  // Starts the sleep prepare() set up; false if there is none to take (the word moved).
  #sleep(): boolean {
    const signal = this.#signal;
    if (signal?.aborted) throw new AbortError(signal.reason);
    const { handle, seq, i32, bell } = this.plan.sleeper;
    const ms = this.ms;
    if (this.onBell) {
      if (!bell!.listen(this)) return false;
      // setTimeout takes at most 2^31 - 1 ms (a longer delay fires at once).
      if (ms !== Infinity) this.#timer = setTimeout(() => this.#ended(), Math.min(ms, 2 ** 31 - 1));
    } else {
      this.#waiter = sleepOnWaiter(i32, seq, handle, this.expected, ms, (result) => {
        this.#waiter = -1;
        if (result instanceof SystemError) this.#fail(result);
        else this.#ended();
      });
      if (this.#waiter < 0) return false;
    }
    if (signal !== undefined) this.#unwatch = onAbort(signal, () => this.#fail(new AbortError(signal.reason)));
    return true;
  }

  // Undoes what is left of the current sleep.
  #stop(): void {
    if (this.onBell) this.plan.sleeper.bell!.unlisten(this);
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#waiter >= 0) native.waiter.cancel(this.#waiter);
    this.#waiter = -1;
    this.#unwatch?.();
    this.#unwatch = undefined;
  }

  // The sleep ended (a wake, its time, a closed bell or mapping): look again.
  #ended(): void {
    this.#stop();
    try {
      this.#sleepOrSettle(this.woken());
    } catch (err) {
      this.#fail(err);
    }
  }

  #settle(r: T): void {
    this.#finish();
    this.#resolve(r);
  }

  #fail(err: unknown): void {
    this.#stop();
    this.#finish();
    this.#reject(err);
  }

  #finish(): void {
    this.#settled = true;
    if (this.plan.waiting === this) this.plan.waiting = null;
  }
}

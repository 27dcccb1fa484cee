// The one spin policy: how long a waiter checks before it sleeps, adapted per waiter.
// Spinning pays only when the side that will answer is running on another CPU at the
// same moment; a sleep and a wake-up cost 10 to 100 µs here (docs/design.md, "Waiting").
import { availableParallelism } from 'node:os';

/** The longest a waiter spins before it sleeps: about the cost of a futex wake-up here. */
export const SPIN_NS = 20_000;
/** A spin budget's maximum `ns` on this machine: none on one CPU, where the peer cannot run meanwhile. */
export function spinMax(ns: number): number {
  return availableParallelism() > 1 ? ns : 0;
}

// A wait longer than this means the peer was not running (about a scheduler time slice).
const PEER_AWAY_MS = 1;
// missed()'s bound, and how often its count starts over.
const MISS_LIMIT = 64;
const PROBE_EVERY = 1024;

/**
 * One waiter's spin budget, adapted as an adaptive mutex adapts its own: doubled (up to
 * its maximum) when the answer comes while it spins, halved (down to a fortieth of the
 * maximum, never to nothing) when a wait shows the peer was not running. When there are
 * more runnable processes than cores the peer is often off its core for a time slice,
 * and spinning against it only delays it; the budget then shrinks. A wait that ended in
 * a sleep still counts as answered if it took less than PEER_AWAY_MS: judging it by the
 * spin alone would keep a budget that had shrunk below the peer's usual answer time
 * shrunk for ever, every wait paying a sleep and a wake-up for an answer that a spin
 * would have caught.
 */
export class SpinBudget {
  readonly max: number;
  ns: number;
  // Spins that gave up in a row (missed()), since the last that saw the answer.
  #misses = 0;

  /** `maxNs` 0: never spin (as on a single CPU, where the peer cannot run meanwhile). */
  constructor(maxNs = SPIN_NS) {
    this.max = maxNs;
    this.ns = maxNs;
  }

  /** The spin saw what it waited for. */
  hit(): void {
    this.#misses = 0;
    this.#grow();
  }

  /** The spin gave up, and the whole wait took `waitedMs` (Infinity when it is not timed). */
  slept(waitedMs: number): void {
    if (waitedMs < PEER_AWAY_MS) this.#grow();
    else this.ns = Math.max(this.max / 40, this.ns / 2);
  }

  /**
   * slept(), for a spin before a wait that blocks the thread, with a bound: past
   * MISS_LIMIT spins in a row that gave up, however soon the answer came after each,
   * the peer could not run while this side spun (other work on the CPUs, and the spin
   * only burned this side's share), so the budget shrinks as for a peer away. Every
   * PROBE_EVERY misses the count starts over, so that a budget shrunk while the machine
   * was busy, or while the peer's code was still unoptimized, can grow again.
   */
  missed(waitedMs: number): void {
    this.#misses = (this.#misses + 1) % PROBE_EVERY;
    this.slept(this.#misses <= MISS_LIMIT ? waitedMs : Infinity);
  }

  #grow(): void {
    this.ns = Math.min(this.max, this.ns * 2);
  }
}

/**
 * Calls attempt() until it returns a result or `ms` pass; undefined then. tick(now) runs
 * every few attempts, before the time check, and may throw (a deadline, a peer gone).
 */
export function spinFor<T>(attempt: () => T | undefined, ms: number, tick?: (now: number) => void): T | undefined {
  const end = performance.now() + ms;
  for (let i = 1; ; i++) {
    const r = attempt();
    if (r !== undefined) return r;
    if ((i & 15) !== 0) continue;
    const now = performance.now();
    tick?.(now);
    if (now >= end) return undefined;
  }
}

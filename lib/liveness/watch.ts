// A waiter's ear for its peer's death (docs/design.md, "Liveness"): instead of looking
// at the peer's lock every so often, a waiter keeps one death watch armed on the slots
// it depends on, and the watch turns their end into a change of the very word (or a
// ring of the bell) the waiter sleeps on. Re-armed only when what to watch changes or
// the watch has fired, so a waiter that sleeps between every message pays nothing more.
import type { DeathWatchHandle, MappingHandle } from '../addon/native';
import { native } from '../addon/native';
import type { LivenessProbe } from './presence';

/**
 * What the end of the watched participants does to the word at `byteOffset`, which the
 * waiter sleeps on. With a `flagOffset` (a channel side's sleeping flag): what a peer's
 * publication does, if the flag is raised: clear it, then ring `bellFd` (a flag of 2,
 * "on the bell") or add 1 to the word and wake it. Without (-1): swap the word from
 * `from` to `to` if it still holds `from`, and wake it. Either way a waiter that has not
 * yet gone to sleep does not miss it.
 */
export interface WatchTarget {
  handle: MappingHandle;
  byteOffset: number;
  flagOffset: number;
  from: number;
  to: number;
  /** The channel's bell descriptor, or -1. */
  bellFd: number;
}

export class PeerWatch {
  readonly #probe: LivenessProbe;
  #watch: DeathWatchHandle | null = null;
  // What the armed watch is for, compared field by field: a waiter re-arms before every
  // sleep, and a key built per sleep would be garbage per message on the event loop.
  #start = 0;
  #length = 0;
  #target: WatchTarget | null = null;

  constructor(probe: LivenessProbe) {
    this.#probe = probe;
  }

  /**
   * Watches lock offsets [start, start + length) for `target`, keeping the watch already
   * armed for the same. False when no watch could be started (a pids limit): the caller
   * must then look for itself, within a bounded sleep.
   */
  arm(start: number, length: number, target: WatchTarget): boolean {
    if (this.live && start === this.#start && length === this.#length && sameTarget(target, this.#target!)) return true;
    this.close();
    this.#watch = this.#probe.watchDeath(start, length, target.handle, target.byteOffset, target.flagOffset, target.from, target.to, target.bellFd);
    this.#start = start;
    this.#length = length;
    this.#target = target;
    return this.#watch !== null;
  }

  /**
   * Armed and not fired: some participant it watches was alive at arm() and, until it
   * fires (which wakes the waiter), still is.
   */
  get live(): boolean {
    return this.#watch !== null && !native.deathWatch.fired(this.#watch);
  }

  /** Whether the watched participants have all gone since arm(). */
  get fired(): boolean {
    return this.#watch !== null && native.deathWatch.fired(this.#watch);
  }

  close(): void {
    if (this.#watch === null) return;
    native.deathWatch.stop(this.#watch);
    this.#watch = null;
  }
}

function sameTarget(a: WatchTarget, b: WatchTarget): boolean {
  return a.handle === b.handle && a.byteOffset === b.byteOffset && a.flagOffset === b.flagOffset && a.from === b.from && a.to === b.to && a.bellFd === b.bellFd;
}

// Who is attached to a channel, and who is still alive. A participant holds an
// open-file-description lock (native/ofd_lock.cc, docs/liveness.md) on a byte of the
// segment's file for as long as it is attached: the kernel drops it when the process
// dies however it dies, and, unlike a pid, it means the same in every container.
// Checking a lock is a system call, so it is done only on slow paths (while waiting).
import { constants } from 'node:fs';

import { SystemError, sys } from './errors';
import {
  CONSUMER_ATTACHED,
  CONSUMER_CLOSED,
  H,
  MAX_PRODUCERS,
  S,
  SLOT_ATTACHED,
  SLOT_FREE,
  SLOT_SIZE,
} from './channel_layout';
import { native } from './native';

// Lock bytes: one per producer slot, one for the consumer. They lie in the header,
// but OFD locks are independent of the file's contents.
const producerLock = (slot: number): number => H.SLOTS + slot * SLOT_SIZE;
const CONSUMER_LOCK = H.CONSUMER_STATE;

export class Peers {
  readonly #name: string;
  readonly #i32: Int32Array;
  #fd: number;
  // Slots this object holds: a lock held through our own descriptor never shows as a
  // conflict, so our own producers must be known locally.
  readonly #mine = new Set<number>();
  #consumer = false;

  constructor(name: string, file: string, i32: Int32Array) {
    this.#name = name;
    this.#i32 = i32;
    this.#fd = sys(name, () => native.openObject(file, constants.O_RDWR, 0));
  }

  /** Claims a free producer slot (only slot 0 for a single-producer channel); returns it, or throws EBUSY. */
  claimProducer(multi: boolean): { slot: number; generation: number } {
    const last = multi ? MAX_PRODUCERS : 1;
    for (let slot = 0; slot < last; slot++) {
      if (this.#mine.has(slot)) continue;
      if (!sys(this.#name, () => native.ofdLock(this.#fd, producerLock(slot), 1, true))) continue;
      this.#mine.add(slot);
      const base = (H.SLOTS + slot * SLOT_SIZE) >> 2;
      // A new generation, so records left behind by a dead previous owner of this
      // slot are told apart from ours (channel_layout.ts ownerTag).
      const generation = (this.#i32[base + (S.GENERATION >> 2)] + 1) & 0xffffff;
      this.#i32[base + (S.GENERATION >> 2)] = generation;
      Atomics.store(this.#i32, base + (S.STATE >> 2), SLOT_ATTACHED);
      Atomics.add(this.#i32, H.PRODUCERS_EVER >> 2, 1);
      return { slot, generation };
    }
    const what = multi ? `all ${MAX_PRODUCERS} producer slots are taken` : 'a single-producer channel already has a live producer';
    throw new SystemError('EBUSY', 'channel', this.#name, what);
  }

  releaseProducer(slot: number): void {
    if (!this.#mine.delete(slot)) return;
    Atomics.store(this.#i32, (H.SLOTS + slot * SLOT_SIZE + S.STATE) >> 2, SLOT_FREE);
    native.ofdUnlock(this.#fd, producerLock(slot), 1);
  }

  /** Whether the producer that wrote a record with this (slot, generation) may still commit it. */
  producerAlive(slot: number, generation: number): boolean {
    if (slot < 0 || slot >= MAX_PRODUCERS) return false;
    const base = (H.SLOTS + slot * SLOT_SIZE) >> 2;
    if ((this.#i32[base + (S.GENERATION >> 2)] & 0xffffff) !== generation) return false;
    return this.#slotAlive(slot);
  }

  /** Live producers now: attached slots whose lock is held. */
  liveProducers(): number {
    let n = 0;
    for (let slot = 0; slot < MAX_PRODUCERS; slot++) {
      if (Atomics.load(this.#i32, (H.SLOTS + slot * SLOT_SIZE + S.STATE) >> 2) !== SLOT_ATTACHED) continue;
      if (this.#slotAlive(slot)) n++;
    }
    return n;
  }

  /** True once a producer has attached and none is alive now (records already committed may remain). */
  producersGone(): boolean {
    return Atomics.load(this.#i32, H.PRODUCERS_EVER >> 2) !== 0 && this.liveProducers() === 0;
  }

  claimConsumer(): void {
    if (this.#consumer) return;
    if (!sys(this.#name, () => native.ofdLock(this.#fd, CONSUMER_LOCK, 1, true))) {
      throw new SystemError('EBUSY', 'channel', this.#name, 'the channel already has a live consumer');
    }
    this.#consumer = true;
    Atomics.store(this.#i32, H.CONSUMER_STATE >> 2, CONSUMER_ATTACHED);
  }

  releaseConsumer(): void {
    if (!this.#consumer) return;
    this.#consumer = false;
    Atomics.store(this.#i32, H.CONSUMER_STATE >> 2, CONSUMER_CLOSED);
    native.ofdUnlock(this.#fd, CONSUMER_LOCK, 1);
  }

  /** Whether a consumer is attached and alive: 'none' if none ever attached. */
  consumer(): 'alive' | 'gone' | 'none' {
    if (this.#consumer) return 'alive';
    const state = Atomics.load(this.#i32, H.CONSUMER_STATE >> 2);
    if (state === CONSUMER_CLOSED) return 'gone';
    if (state !== CONSUMER_ATTACHED) return 'none';
    return native.ofdConflict(this.#fd, CONSUMER_LOCK, 1) !== null ? 'alive' : 'gone';
  }

  /** Releases every lock this object holds (closing the descriptor drops them all). */
  close(): void {
    if (this.#fd < 0) return;
    for (const slot of [...this.#mine]) this.releaseProducer(slot);
    this.releaseConsumer();
    native.closeFd(this.#fd);
    this.#fd = -1;
  }

  #slotAlive(slot: number): boolean {
    if (this.#mine.has(slot)) return true;
    return native.ofdConflict(this.#fd, producerLock(slot), 1) !== null;
  }
}

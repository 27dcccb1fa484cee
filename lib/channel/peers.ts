// Who is attached to a channel, and who is still alive (lib/liveness/presence.ts, docs/design.md, "Liveness"):
// each participant holds a Presence, an OFD lock on one byte of the segment's file in
// the channel's region (the consumer at its base, producer slot i at base + 1 + i),
// which the kernel drops when the process dies however it dies, in any container.
// Checking a lock is a system call, so it is done only on slow paths (while waiting).
import { PodshmError, SystemError } from '../core/errors';
import { CONSUMER_ATTACHED, CONSUMER_CLOSED, H, MAX_PRODUCERS, S, SLOT_SIZE } from './layout';
import { LIVENESS_REGIONS, claimOn, probeOn, type LivenessProbe, type MappedFile, type Presence } from '../liveness/presence';
import { PeerWatch } from '../liveness/watch';

const CONSUMER = { base: LIVENESS_REGIONS.channel, slots: 1 };
const PRODUCERS = { base: LIVENESS_REGIONS.channel + 1, slots: MAX_PRODUCERS };

/** [start, length] of lock offsets; the common ones are shared (asked for before every sleep). */
type LockRange = readonly [number, number];
const ALL_PRODUCERS: LockRange = [PRODUCERS.base, PRODUCERS.slots];
const THE_CONSUMER: LockRange = [CONSUMER.base, 1];

export class Peers {
  readonly #name: string;
  readonly #file: MappedFile;
  readonly #i32: Int32Array;
  readonly #probe: LivenessProbe;

  constructor(name: string, file: MappedFile, i32: Int32Array) {
    this.#name = name;
    this.#file = file;
    this.#i32 = i32;
    this.#probe = probeOn(file);
  }

  /** Claims a free producer slot (only slot 0 for a single-producer channel), or throws EBUSY. */
  claimProducer(multi: boolean): { presence: Presence; generation: number } {
    const presence = this.#claim(
      multi ? PRODUCERS : { base: PRODUCERS.base, slots: 1 },
      multi ? `all ${MAX_PRODUCERS} producer slots are taken by live producers` : 'a single-producer channel already has a live producer',
    );
    const word = (H.SLOTS + presence.slot * SLOT_SIZE + S.GENERATION) >> 2;
    // A new generation, so records left behind by a dead previous owner of this slot
    // are told apart from ours (channel_layout.ts ownerTag).
    const generation = (this.#i32[word] + 1) & 0xffffff;
    Atomics.store(this.#i32, word, generation);
    Atomics.add(this.#i32, H.PRODUCERS_EVER >> 2, 1);
    return { presence, generation };
  }

  claimConsumer(): Presence {
    const presence = this.#claim(CONSUMER, 'the channel already has a live consumer');
    Atomics.store(this.#i32, H.CONSUMER_STATE >> 2, CONSUMER_ATTACHED);
    return presence;
  }

  /** Called by the consumer as it detaches cleanly, before it releases its presence. */
  consumerClosing(): void {
    Atomics.store(this.#i32, H.CONSUMER_STATE >> 2, CONSUMER_CLOSED);
  }

  /** Whether the producer that wrote a record with this (slot, generation) may still commit it. */
  producerAlive(slot: number, generation: number): boolean {
    if (slot < 0 || slot >= MAX_PRODUCERS) return false;
    if ((this.#i32[(H.SLOTS + slot * SLOT_SIZE + S.GENERATION) >> 2] & 0xffffff) !== generation) return false;
    return this.#probe.isAlive(PRODUCERS.base + slot);
  }

  liveProducers(): number {
    return this.#probe.liveSlots(PRODUCERS).length;
  }

  /** True once a producer has attached and none is alive now (records already committed may remain). */
  producersGone(): boolean {
    return Atomics.load(this.#i32, H.PRODUCERS_EVER >> 2) !== 0 && this.liveProducers() === 0;
  }

  /** 'none' if no consumer ever attached, 'gone' if it closed or died. */
  consumer(): 'alive' | 'gone' | 'none' {
    const state = Atomics.load(this.#i32, H.CONSUMER_STATE >> 2);
    if (state === CONSUMER_CLOSED) return 'gone';
    if (state !== CONSUMER_ATTACHED) return 'none';
    return this.#probe.isAlive(CONSUMER.base) ? 'alive' : 'gone';
  }

  /** A death watch (lib/liveness/watch.ts) on this channel's file, for one waiting side. */
  watch(): PeerWatch {
    return new PeerWatch(this.#probe);
  }

  /**
   * The lock range [start, length] whose end the waiting consumer must hear of: the
   * producer that owns the reservation it stopped at (slot >= 0), else every producer
   * once one has attached, else none (the first producer's attach wakes the consumer).
   */
  producersToWatch(blockedSlot: number): LockRange | null {
    if (blockedSlot >= 0 && blockedSlot < MAX_PRODUCERS) return [PRODUCERS.base + blockedSlot, 1];
    return Atomics.load(this.#i32, H.PRODUCERS_EVER >> 2) !== 0 ? ALL_PRODUCERS : null;
  }

  /** The same for a waiting producer: the consumer's slot, once one has attached (its attach wakes producers). */
  consumerToWatch(): LockRange | null {
    return Atomics.load(this.#i32, H.CONSUMER_STATE >> 2) === CONSUMER_ATTACHED ? THE_CONSUMER : null;
  }

  close(): void {
    this.#probe.close();
  }

  // On the segment's own file: after an unlink the name may be another channel's, where
  // a claim would be a phantom participant (claimOn says ENOENT then).
  #claim(range: { base: number; slots: number }, busy: string): Presence {
    try {
      return claimOn(this.#file, range);
    } catch (err) {
      if (err instanceof PodshmError && err.code === 'EAGAIN') throw new SystemError('EBUSY', 'channel', this.#name, busy);
      throw err;
    }
  }

  /** The file the channel lives in (its SharedMemory). */
  get file(): MappedFile {
    return this.#file;
  }
}

// What the publishers and subscribers of one Topic object share: the views over the
// segment, the geometry read once at open (word 24 is re-read only to see it unchanged), the
// participants' liveness, the lock, and the walks over the ring that only happen under
// the lock: claiming room, reclaiming it, and finding a late joiner's history.
import { SystemError, PodshmError } from '../core/errors';
import { TopicCorruptError } from './errors';
import {
  CANCELLED,
  GENERATION_MASK,
  H,
  MAX_PUBLISHERS,
  P,
  PAD,
  RECORD_FLAGS,
  RECORD_HEADER,
  S,
  SUB_ATTACHED,
  SUB_DROPPED,
  SUB_FREE,
  WRITTEN,
  extentOf,
  maxMessageSize,
  publisherOffset,
  publisherSlots,
  subscriberOffset,
  tagGeneration,
  tagOf,
  tagParticipant,
  type Geometry,
  type Policy,
  type PublisherMode,
  type WaitStrategy,
} from './layout';
import { PLAIN_LOADS_ORDERED, type Sleeper } from '../channel/wait';
import type { MappingHandle } from '../addon/native';
import { LIVENESS_REGIONS, claimOn, probeOn, type LivenessProbe, type MappedFile, type Presence } from '../liveness/presence';
import { PeerWatch } from '../liveness/watch';

const HEAD = H.HEAD >> 2;
const TAIL = H.TAIL >> 2;
const LOCK = H.LOCK >> 2;
const NEXT_SEQ = H.NEXT_SEQ >> 2;
const ROOM_WANTED = H.ROOM_WANTED >> 2;
// Loads of the lock before asking whether its holder lives: holders keep it for a few stores.
const LOCK_SPINS = 1024;
/** Lock offset of participant 0: publishers are 0 to MAX_PUBLISHERS - 1, subscribers follow. */
const LIVENESS_BASE = LIVENESS_REGIONS.topic;

/** A record's header, read and checked. */
export interface RecordInfo {
  word0: number;
  extent: number;
  /** Word 1: the length, or -(tag + 1) while reserved. */
  word1: number;
  seq: number;
  pad: boolean;
}

export class TopicCore {
  readonly name: string;
  readonly buffer: SharedArrayBuffer;
  readonly i32: Int32Array;
  readonly u8: Uint8Array;
  readonly f64: Float64Array;
  readonly handle: MappingHandle;
  readonly capacity: number;
  readonly mask: number;
  readonly maxMessage: number;
  readonly policy: Policy;
  readonly publishers: PublisherMode;
  readonly wait: WaitStrategy;
  readonly maxSubscribers: number;
  /** Byte offset of the data area (the header's size). */
  readonly data: number;
  readonly dataSleeper: Sleeper;
  readonly spaceSleeper: Sleeper;
  readonly #file: MappedFile;
  readonly #probe: LivenessProbe;
  /** What record() read last. */
  readonly rec: RecordInfo = { word0: 0, extent: 0, word1: 0, seq: 0, pad: false };
  /** Set by reclaim() when a subscriber's cursor is what keeps the room: its slot, else -1. */
  heldBy = -1;
  /** Set by reclaim() when a live publisher's reservation at the tail keeps it: its tag, else -1. */
  heldByReservation = -1;
  closed = false;

  constructor(name: string, buffer: SharedArrayBuffer, handle: MappingHandle, g: Geometry, file: MappedFile) {
    this.name = name;
    this.buffer = buffer;
    this.i32 = new Int32Array(buffer, 0, (g.headerSize + g.capacity) >> 2);
    this.u8 = new Uint8Array(buffer, 0, g.headerSize + g.capacity);
    this.f64 = new Float64Array(buffer, 0, g.headerSize >> 3);
    this.handle = handle;
    this.capacity = g.capacity;
    this.mask = g.capacity - 1;
    this.maxMessage = maxMessageSize(g.capacity);
    this.policy = g.policy;
    this.publishers = g.publishers;
    this.wait = g.wait;
    this.maxSubscribers = g.maxSubscribers;
    this.data = g.headerSize;
    this.#file = file;
    this.#probe = probeOn(file);
    // No bell: a FIFO wakes one reader, and several subscribers sleep at once.
    this.dataSleeper = { i32: this.i32, handle, flag: H.DATA_SLEEPING >> 2, seq: H.DATA_SEQ >> 2, bell: null, bellOff: H.DATA_SLEEPING >> 2 };
    this.spaceSleeper = { i32: this.i32, handle, flag: H.SPACE_SLEEPING >> 2, seq: H.SPACE_SEQ >> 2, bell: null, bellOff: H.SPACE_SLEEPING >> 2 };
  }

  corrupt(detail: string, offset: number, value: number): TopicCorruptError {
    return new TopicCorruptError(this.name, detail, offset, value);
  }

  closedError(): SystemError {
    return new SystemError('EBADF', 'topic', this.name, 'the topic is closed');
  }

  // --- participants ---

  claimPublisher(): { presence: Presence; tag: number } {
    const presence = this.#claim(
      0,
      publisherSlots(this.publishers),
      this.publishers === 'single' ? "a single-publisher topic already has a live publisher (create it with publishers: 'multi' for more)" : `all ${MAX_PUBLISHERS} publisher slots are taken by live publishers`,
    );
    const word = publisherOffset(presence.slot, P.GENERATION) >> 2;
    const generation = (this.i32[word] + 1) & GENERATION_MASK;
    Atomics.store(this.i32, word, generation);
    try {
      this.#admit(presence.slot);
    } catch (err) {
      presence.release();
      throw err;
    }
    return { presence, tag: tagOf(presence.slot, generation) };
  }

  // Word 24 is read once by each opener: scribbled, it would let a publisher that claims
  // under the lock write beside a single publisher that does not (or the reverse), each
  // over the other's records. So each publisher marks its slot with the mode it read,
  // then looks for a publisher of the other mode. Both sides claim and mark before they
  // look: of two that start at once, the later sees the earlier, before it writes.
  #admit(slot: number): void {
    const slots = publisherSlots(this.publishers);
    Atomics.store(this.i32, publisherOffset(slot, P.MODE) >> 2, slots);
    if (this.publishers === 'single') {
      const others = this.#probe.liveSlots({ base: LIVENESS_BASE + 1, slots: MAX_PUBLISHERS - 1 });
      if (others.length > 0) {
        throw this.corrupt(`the header changed: it says 1 publisher slot (single publisher), but publisher slot ${others[0] + 1} is held by a live publisher`, H.MAX_PUBLISHERS, slots);
      }
    } else if (slot !== 0 && Atomics.load(this.i32, publisherOffset(0, P.MODE) >> 2) === 1 && this.#probe.isAlive(LIVENESS_BASE)) {
      throw this.corrupt(`the header changed: it says ${slots} publisher slots, but slot 0 is held by a live single publisher`, H.MAX_PUBLISHERS, slots);
    }
  }

  /** Claims a subscriber slot's liveness byte; the caller attaches it under the lock (attachSubscriber). */
  claimSubscriber(): { presence: Presence; tag: number } {
    const presence = this.#claim(MAX_PUBLISHERS, this.maxSubscribers, `all ${this.maxSubscribers} subscriber slots are taken by live subscribers`);
    const word = subscriberOffset(presence.slot, S.GENERATION) >> 2;
    const generation = (this.i32[word] + 1) & GENERATION_MASK;
    Atomics.store(this.i32, word, generation);
    return { presence, tag: tagOf(MAX_PUBLISHERS + presence.slot, generation) };
  }

  /** Whether the participant a tag names still holds its slot, alive (a system call). */
  alive(tag: number): boolean {
    const participant = tagParticipant(tag);
    const generation = tagGeneration(tag);
    let word: number;
    if (participant < MAX_PUBLISHERS) word = publisherOffset(participant, P.GENERATION);
    else if (participant - MAX_PUBLISHERS < this.maxSubscribers) word = subscriberOffset(participant - MAX_PUBLISHERS, S.GENERATION);
    else return false;
    if ((Atomics.load(this.i32, word >> 2) & GENERATION_MASK) !== generation) return false;
    return this.#probe.isAlive(LIVENESS_BASE + participant);
  }

  liveCount(publishers: boolean): number {
    const range = publishers ? { base: LIVENESS_BASE, slots: MAX_PUBLISHERS } : { base: LIVENESS_BASE + MAX_PUBLISHERS, slots: this.maxSubscribers };
    return this.#probe.liveSlots(range).length;
  }

  /** The liveness byte of a participant, for a death watch. */
  livenessOffset(participant: number): number {
    return LIVENESS_BASE + participant;
  }

  watch(): PeerWatch {
    return new PeerWatch(this.#probe);
  }

  #claim(first: number, slots: number, busy: string): Presence {
    try {
      return claimOn(this.#file, { base: LIVENESS_BASE + first, slots });
    } catch (err) {
      if (err instanceof PodshmError && err.code === 'EAGAIN') throw new SystemError('EBUSY', 'topic', this.name, busy);
      throw err;
    }
  }

  // --- the lock ---

  /** Takes the lock for `tag`: false if a live participant holds it. A dead holder's lock is taken over. */
  lock(tag: number): boolean {
    const i32 = this.i32;
    const mine = tag + 1;
    let holder = 0;
    for (let i = 0; i < LOCK_SPINS; i++) {
      holder = Atomics.load(i32, LOCK);
      if (holder === 0 && Atomics.compareExchange(i32, LOCK, 0, mine) === 0) return true;
    }
    if (holder === 0) return false; // taken and released by others all along: as busy
    if (holder === mine) throw this.corrupt('the lock names this participant, which does not hold it', H.LOCK, holder);
    if (holder > 0 && this.alive(holder - 1)) return false;
    // The holder died inside its few stores (or the word is garbage): take over. What it
    // had published is consistent (each step publishes with one store, HEAD last).
    return Atomics.compareExchange(i32, LOCK, holder, mine) === holder;
  }

  unlock(tag: number): void {
    Atomics.compareExchange(this.i32, LOCK, tag + 1, 0);
  }

  // --- the ring ---

  /** TAIL, checked against `head`: 16-aligned, at most the ring before it. */
  tailBefore(head: number): number {
    const tail = Atomics.load(this.i32, TAIL);
    if ((tail & 15) !== 0 || (head - tail) >>> 0 > this.capacity) {
      throw this.corrupt(`head ${head >>> 0} and tail ${tail >>> 0} are not 16-aligned at most ${this.capacity} bytes apart`, H.TAIL, tail);
    }
    return tail;
  }

  /**
   * Reads and checks the written record at position `pos` into `rec` (one object,
   * reused: no allocation per message); false where word 0 is still 0. Word 1 is read
   * after word 0, and the flags again after word 1: a cancel sets PAD before it clears
   * word 1, so a record whose word 1 is no longer a reservation shows its final flags.
   */
  record(pos: number): boolean {
    const i32 = this.i32;
    const index = pos & this.mask;
    const w = (this.data + index) >> 2;
    let word0 = Atomics.load(i32, w);
    if (word0 === 0) return false;
    // Plain where the hardware orders it after the load of word 0 (lib/channel/wait.ts);
    // a reservation's commit comes later, and is re-read with Atomics.load.
    let word1 = PLAIN_LOADS_ORDERED ? i32[w + 1] : Atomics.load(i32, w + 1);
    if (word1 < 0) word1 = Atomics.load(i32, w + 1);
    if (word1 >= 0) word0 = i32[w];
    return this.check(pos, word0, word1);
  }

  /** Checks the written record at `pos` whose words 0 and 1 were read as record() reads them, into `rec`. */
  check(pos: number, word0: number, word1: number): true {
    const i32 = this.i32;
    const index = pos & this.mask;
    const w = (this.data + index) >> 2;
    const extent = word0 & ~RECORD_FLAGS;
    const pad = (word0 & PAD) !== 0;
    if (word0 < 0 || (word0 & WRITTEN) === 0 || (!pad && (word0 & CANCELLED) !== 0) || (extent & 15) !== 0 || index + RECORD_HEADER + extent > this.capacity) {
      throw this.corrupt(`the record at ${pos >>> 0} has header 0x${(word0 >>> 0).toString(16)}`, w << 2, word0);
    }
    if (i32[w + 2] !== pos) throw this.corrupt(`the record at ${pos >>> 0} says it is at ${i32[w + 2] >>> 0}`, (w + 2) << 2, i32[w + 2]);
    if (word1 > extent) throw this.corrupt(`the record at ${pos >>> 0} has length ${word1} beyond its extent ${extent}`, (w + 1) << 2, word1);
    const rec = this.rec;
    rec.word0 = word0;
    rec.extent = extent;
    rec.word1 = word1;
    rec.seq = i32[w + 3];
    rec.pad = pad;
    return true;
  }

  // The end of the chain of written records from `head`: HEAD lags it when a publisher
  // died between a record's word 0 and HEAD, or (single publisher, which does not take
  // the lock to publish) when it has published since; never by more than the ring, as
  // TAIL does not move under the lock.
  chainEnd(head: number): number {
    if ((head & 15) !== 0) throw this.corrupt(`head ${head >>> 0} is not a multiple of 16`, H.HEAD, head);
    // A plain load: the chain nearly always ends at HEAD (a stale 0 only ends it there).
    if (this.i32[(this.data + (head & this.mask)) >> 2] === 0) return head;
    const from = head;
    for (;;) {
      if (!this.record(head)) return head;
      const r = this.rec;
      if (((head - from) >>> 0) + RECORD_HEADER + r.extent > this.capacity) {
        throw this.corrupt(`the records from head ${from >>> 0} go on past a whole ring`, H.HEAD, from);
      }
      head = (head + RECORD_HEADER + r.extent) | 0;
    }
  }

  /**
   * Where a publisher that starts writes: the end of the chain of records from TAIL,
   * which HEAD must lead to. What a crash leaves does: HEAD behind the chain's end (a
   * publisher died between a record's word 0 and HEAD), even behind TAIL (the next one
   * then moved TAIL past those records, which no subscriber held, and died too). A HEAD
   * that leads elsewhere was written by no publisher: trusted, it would have this one
   * write where no subscriber looks. Single publisher: with no other publisher alive
   * (claimPublisher), nothing moves HEAD or TAIL meanwhile; several: under the lock.
   */
  startHead(): number {
    const head = Atomics.load(this.i32, HEAD);
    const end = this.chainEnd(head);
    const tail = this.tailBefore(end);
    let pos = tail;
    while (this.record(pos)) {
      const next = (pos + RECORD_HEADER + this.rec.extent) | 0;
      if ((next - tail) >>> 0 > this.capacity) throw this.corrupt(`the records from tail ${tail >>> 0} go on past a whole ring`, H.TAIL, tail);
      pos = next;
    }
    if (pos !== end) throw this.corrupt(`head ${head >>> 0} does not lead to the end of the records from tail ${tail >>> 0}, at ${pos >>> 0}`, H.HEAD, head);
    return end;
  }

  /**
   * Under the lock: claims a record for a `length`-byte message, reserved for `tag`, and
   * returns its byte offset in the segment, or -1 if the ring has no room for it now
   * (heldBy then names the subscriber that keeps it, if one does).
   */
  claim(length: number, tag: number): number {
    // Plain loads and stores of the words only lock holders write: the lock's
    // compare-and-swap orders them after the previous holder's.
    const i32 = this.i32;
    let head = this.chainEnd(i32[HEAD]);
    let tail = this.tailBefore(head);
    const size = RECORD_HEADER + extentOf(length);
    let index = head & this.mask;
    const room = this.capacity - index;
    // The record, the padding before it at the wrap, and the next record's word 0.
    const need = (size <= room ? size : size + room) + RECORD_HEADER;
    if (this.capacity - ((head - tail) >>> 0) < need) {
      tail = this.reclaim(head, tail, need);
      if (this.capacity - ((head - tail) >>> 0) < need) return -1;
    }
    const seq = this.seqAt(head);
    if (size > room) {
      this.pad(head, room, seq);
      head = (head + room) | 0;
      index = 0;
    }
    this.header(index, size, -(tag + 1), head, seq);
    Atomics.store(i32, (this.data + index) >> 2, extentOf(length) | WRITTEN);
    i32[NEXT_SEQ] = (seq + 1) | 0;
    i32[HEAD] = (head + size) | 0;
    return this.data + index;
  }

  /** The sequence number of the message that comes at `pos`, the end of the chain of written records (word 3 there). */
  seqAt(pos: number): number {
    return this.i32[((this.data + (pos & this.mask)) >> 2) + 3];
  }

  /**
   * Publishes a padding record that fills the `room` bytes from `head` to the end of the
   * data area, so that every message is contiguous: the one at 0 carries `seq`.
   */
  pad(head: number, room: number, seq: number): void {
    const i32 = this.i32;
    const w = (this.data + (head & this.mask)) >> 2;
    i32[this.data >> 2] = 0;
    i32[(this.data >> 2) + 3] = seq;
    i32[w + 1] = 0;
    i32[w + 2] = head;
    i32[w + 3] = seq;
    Atomics.store(i32, w, (room - RECORD_HEADER) | WRITTEN | PAD);
  }

  /**
   * Writes words 1 to 3 of the `size`-byte record at data `index` (position `pos`), and
   * the end of the chain after it: word 0 zeroed, word 3 the next sequence number. The
   * caller stores word 0, which publishes all of it.
   */
  header(index: number, size: number, word1: number, pos: number, seq: number): void {
    const i32 = this.i32;
    const w = (this.data + index) >> 2;
    const next = (this.data + ((index + size) & this.mask)) >> 2;
    i32[next] = 0;
    i32[next + 3] = (seq + 1) | 0;
    i32[w + 1] = word1;
    i32[w + 2] = pos;
    i32[w + 3] = seq;
  }

  /**
   * Under the lock: moves TAIL forward, as far as the policy lets and no further than
   * needed for `need` bytes after `head` and an eighth of the ring more (so that the
   * look at every cursor is made once per eighth of the ring, not once per message, and
   * the rest of the ring stays as history); returns the new tail. 'block' stops at the
   * slowest attached subscriber's cursor; 'disconnect' drops that subscriber instead;
   * 'overwrite' ignores cursors. Every policy stops at a reservation whose owner lives.
   * `starts`: positions where records begin that a single publisher wrote itself, with
   * no reservation of its own open: TAIL moves to one of them without walking the
   * records before it (null: walk).
   */
  reclaim(head: number, tail: number, need: number, starts: Int32Array | null = null): number {
    // Once per eighth of the ring, under the lock: a changed mode is a publisher of the
    // other kind that may come (claimPublisher() turns it away if it comes after this one).
    const slots = this.i32[H.MAX_PUBLISHERS >> 2];
    if (slots !== publisherSlots(this.publishers)) throw this.corrupt(`the header changed: it says ${slots} publisher slots, this topic was opened with ${publisherSlots(this.publishers)}`, H.MAX_PUBLISHERS, slots);
    this.heldBy = -1;
    this.heldByReservation = -1;
    for (;;) {
      let limit = head;
      let slowest = -1;
      if (this.policy !== 'overwrite') {
        for (let slot = 0; slot < this.maxSubscribers; slot++) {
          const state = Atomics.load(this.i32, subscriberOffset(slot, S.STATE) >> 2);
          if (state === SUB_FREE || state === SUB_DROPPED) continue;
          const at = subscriberOffset(slot, S.CURSOR);
          if (state !== SUB_ATTACHED) throw this.corrupt(`subscriber ${slot} has state ${state}`, subscriberOffset(slot, S.STATE), state);
          const cursor = Atomics.load(this.i32, at >> 2);
          if ((cursor & 15) !== 0 || (cursor - tail) >>> 0 > (head - tail) >>> 0) {
            throw this.corrupt(`subscriber ${slot} has cursor ${cursor >>> 0}, outside the ring's ${tail >>> 0} to ${head >>> 0}`, at, cursor);
          }
          if ((cursor - tail) >>> 0 <= (limit - tail) >>> 0) {
            limit = cursor;
            slowest = slot;
          }
        }
      }
      const want = Math.min(this.capacity, need + (this.capacity >>> 3));
      let next = starts === null ? -1 : this.#jump(tail, limit, head, want, starts);
      if (next === -1) next = this.#walk(tail, limit, head, want);
      if (next !== tail) {
        Atomics.store(this.i32, TAIL, next);
        tail = next;
      }
      if (this.capacity - ((head - tail) >>> 0) >= need) {
        if (this.i32[ROOM_WANTED] !== 0) Atomics.store(this.i32, ROOM_WANTED, 0);
        return tail;
      }
      if (this.policy === 'disconnect' && slowest >= 0 && tail === limit) {
        // Stored before TAIL moves past its cursor: the subscriber reads TAIL after each
        // message, and finds itself dropped, not corrupt.
        Atomics.store(this.i32, subscriberOffset(slowest, S.STATE) >> 2, SUB_DROPPED);
        continue;
      }
      if (slowest >= 0 && tail === limit) {
        this.heldBy = slowest;
        if (this.i32[ROOM_WANTED] === 0) Atomics.store(this.i32, ROOM_WANTED, 1);
      }
      return tail;
    }
  }

  // The nearest of `starts` from `tail` that frees `need` bytes after `head` without
  // passing `limit`, or -1. Every record before it is whole or abandoned: the single
  // publisher that wrote them is this one, or dead.
  #jump(tail: number, limit: number, head: number, need: number, starts: Int32Array): number {
    const from = need - (this.capacity - ((head - tail) >>> 0)); // how far TAIL must move: > 0, or reclaim() had not been called
    const most = (limit - tail) >>> 0;
    let best = -1;
    let bestBy = 0;
    for (let i = 0; i < starts.length; i++) {
      const by = (starts[i] - tail) >>> 0;
      if (by >= from && by <= most && (best === -1 || by < bestBy)) {
        best = starts[i];
        bestBy = by;
      }
    }
    return best;
  }

  // Walks records from `tail` toward `limit` until `need` bytes are free after `head`;
  // returns where it stopped. A reservation whose owner lives stops it: its owner is
  // still writing there. (A liveness check is a system call: that only happens when the
  // oldest record of a full ring is still reserved.)
  #walk(tail: number, limit: number, head: number, need: number): number {
    const i32 = this.i32;
    let pos = tail;
    while (pos !== limit && this.capacity - ((head - pos) >>> 0) < need) {
      // Plain loads of what record() checks, for the common record: every record is
      // walked once, and this walk is under the lock, after the writers' stores.
      const w = (this.data + (pos & this.mask)) >> 2;
      const word0 = i32[w];
      const extent = word0 & ~RECORD_FLAGS;
      if (word0 <= 0 || (word0 & RECORD_FLAGS) !== WRITTEN || i32[w + 1] < 0 || i32[w + 2] !== pos || (pos & this.mask) + RECORD_HEADER + extent > this.capacity || (extent & 15) !== 0) {
        // Padding, a reservation or a bad record: the full check.
        const r = this.#written(pos);
        if (r.word1 < 0 && this.alive(-r.word1 - 1)) {
          this.heldByReservation = -r.word1 - 1;
          break;
        }
      }
      const end = (pos + RECORD_HEADER + extent) | 0;
      if ((end - tail) >>> 0 > (limit - tail) >>> 0) throw this.corrupt(`the record at ${pos >>> 0} runs past ${limit >>> 0}`, this.data + (pos & this.mask), word0);
      pos = end;
    }
    return pos;
  }


  #written(pos: number): RecordInfo {
    if (!this.record(pos)) throw this.corrupt(`the record at ${pos >>> 0}, between tail and head, is not written`, this.data + (pos & this.mask), 0);
    return this.rec;
  }

  /**
   * Under the lock: where a subscriber that wants the last `history` messages starts,
   * and the sequence number it expects there. TAIL stays; a single publisher may go on
   * publishing after the head found, which the subscriber then receives.
   */
  historyStart(history: number): { pos: number; seq: number } {
    const head = this.chainEnd(Atomics.load(this.i32, HEAD));
    const tail = this.tailBefore(head);
    const next = { pos: head, seq: this.seqAt(head) };
    if (history === 0) return next;
    // The positions and sequence numbers of the last `history` messages, in a circular buffer.
    const size = Math.min(history, this.capacity / RECORD_HEADER);
    const positions = new Int32Array(size);
    const seqs = new Int32Array(size);
    let count = 0;
    let pos = tail;
    while (pos !== head) {
      const r = this.#written(pos);
      if (!r.pad) {
        positions[count % size] = pos;
        seqs[count % size] = r.seq;
        count++;
      }
      const end = (pos + RECORD_HEADER + r.extent) | 0;
      if ((end - tail) >>> 0 > (head - tail) >>> 0) throw this.corrupt(`the record at ${pos >>> 0} runs past head ${head >>> 0}`, this.data + (pos & this.mask), r.word0);
      pos = end;
    }
    if (count === 0) return next;
    const first = count < size ? 0 : count % size;
    return { pos: positions[first], seq: seqs[first] };
  }

  /** Under the lock: frees the slot of a subscriber that died attached, so its cursor holds no room. */
  freeIfDead(slot: number): boolean {
    const state = subscriberOffset(slot, S.STATE) >> 2;
    const generation = Atomics.load(this.i32, subscriberOffset(slot, S.GENERATION) >> 2);
    if (Atomics.load(this.i32, state) !== SUB_ATTACHED || this.alive(tagOf(MAX_PUBLISHERS + slot, generation))) return false;
    Atomics.store(this.i32, state, SUB_FREE);
    return true;
  }

  close(): void {
    this.#probe.close();
  }
}

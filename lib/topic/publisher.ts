// The publishing side of a Topic. A message is written once into the shared ring,
// whatever the number of subscribers. With several publishers: a claim under the
// topic's lock (a few stores), the copy outside it, and one Atomics.store that commits.
// A single publisher owns HEAD: it writes the record, copies, and publishes it with one
// Atomics.store of word 0, as a single-producer channel does; it takes the lock only to
// move TAIL (once per eighth of the ring), which subscribers attach under. The wake-up
// system call happens only when a subscriber sleeps.
import { AbortError, SystemError, argType } from '../core/errors';
import type { TopicCore } from './core';
import { ALIGN, CANCELLED, H, P, PAD, MAX_PUBLISHERS, RECORD_HEADER, WRITTEN, extentOf, publisherOffset, tagParticipant } from './layout';
import { PLAIN_LOADS_ORDERED, wake, waitAsync, waitSync, type WaitPlan } from '../channel/wait';
import { SpinBudget } from '../wait/spin';
import { SLICE_MS } from '../wait/loop';
import { abortSignal, deadlineOf, timeoutMs } from '../core/timeout';
import type { Presence } from '../liveness/presence';
import type { PeerWatch } from '../liveness/watch';
import { integer, options } from '../core/validate';
import { encodeWith, type BoundCodec, type CodecOption } from '../core/codec';

export interface PublishSyncOptions {
  /** Milliseconds to wait for room ('block') or for the lock; ETIMEDOUT after. Default: no limit. */
  timeout?: number;
}

export interface PublishOptions extends PublishSyncOptions {
  signal?: AbortSignal;
}

export interface PublisherOptions {
  /** Publishes values through this codec (docs/api.md, "Codecs"); default: none, messages are bytes. */
  codec?: CodecOption;
}

const SYNC_KEYS = ['timeout'] as const;
const ASYNC_KEYS = ['timeout', 'signal'] as const;
const copy = Uint8Array.prototype.set;
const HEAD = H.HEAD >> 2;
const NEXT_SEQ = H.NEXT_SEQ >> 2;
// The layout's constants as this module's own: in the compiled CommonJS an imported or
// exported constant is a property load on every use, which V8 does not fold away.
const HEADER = RECORD_HEADER;
const PUBLISHED = WRITTEN;
const EXTENT_MASK = ~(ALIGN - 1);
// A single publisher notes where one of its records begins every sixteenth of the ring,
// the last two rings' worth: TAIL moves to one of them with no walk over the records
// before it (TopicCore.reclaim()), which had cost a look at every record's header.
const STARTS = 32;

/** Room reserved in the ring by reserve(): fill `bytes`, then commit() or cancel(). Disposing of it uncommitted cancels it. */
export class Reservation implements Disposable {
  /** The reserved bytes, inside the ring itself: what is written here is what every subscriber reads. */
  readonly bytes: Uint8Array;
  readonly #publisher: Publisher<unknown>;
  readonly #record: number;
  #open = true;

  /** @internal */
  constructor(publisher: Publisher<unknown>, bytes: Uint8Array, record: number) {
    this.bytes = bytes;
    this.#publisher = publisher;
    this.#record = record;
  }

  /** Publishes the first `length` bytes (default: all) as one message. */
  commit(length: number = this.bytes.length): void {
    integer('length', length, 0, this.bytes.length);
    this.#finish();
    this.#publisher._commit(this.#record, length);
  }

  /** Gives the room back unused: subscribers skip it. */
  cancel(): void {
    this.#finish();
    this.#publisher._cancel(this.#record);
  }

  [Symbol.dispose](): void {
    if (this.#open && !this.#publisher.closed) this.cancel();
  }

  #finish(): void {
    if (!this.#open) throw new SystemError('EINVAL', 'topic', undefined, 'this reservation was already committed or cancelled');
    this.#open = false;
  }
}

/** A publisher: `T` is what it publishes, bytes unless it has a codec. */
export class Publisher<T = Uint8Array> implements Disposable {
  readonly #core: TopicCore;
  readonly #codec: BoundCodec | null;
  readonly #i32: Int32Array;
  readonly #u8: Uint8Array;
  readonly #f64: Float64Array;
  readonly #presence: Presence;
  readonly #tag: number;
  readonly #sent: number;
  readonly #budget = new SpinBudget();
  readonly #single: boolean;
  readonly #capacity: number;
  readonly #mask: number;
  readonly #data: number;
  /** Single publisher: the end of its records, which only it moves. */
  #head = 0;
  /** Single publisher: TAIL, which only it moves (under the lock). */
  #tail = 0;
  /** Single publisher: the next message's sequence number. */
  #seq = 0;
  /** Single publisher: positions where records it wrote begin (STARTS). */
  readonly #starts = new Int32Array(STARTS);
  #started = 0;
  /** Single publisher: where a record that begins is next noted in #starts. */
  #nextStart = 0;
  /** Single publisher: its reservations not committed or cancelled yet (TAIL walks past them then). */
  #reserved = 0;
  #watch: PeerWatch | null = null;
  // The last attempt found the lock kept by a live participant: its release wakes
  // nobody, so sleeps are bounded (watchPeer says so).
  #lockBusy = false;
  #lastDeadCheck = -Infinity;
  /** Several publishers: HEAD was checked (TopicCore.startHead()) at this one's first claim, under the lock. */
  #headChecked = false;
  #closed = false;

  /** @internal Use Topic.publisher(). */
  constructor(core: TopicCore, codec: BoundCodec | null) {
    this.#core = core;
    this.#codec = codec;
    this.#i32 = core.i32;
    this.#u8 = core.u8;
    this.#f64 = core.f64;
    const { presence, tag } = core.claimPublisher();
    this.#presence = presence;
    this.#tag = tag;
    this.#sent = publisherOffset(presence.slot, P.SENT_MESSAGES) >> 3;
    this.#single = core.publishers === 'single';
    this.#capacity = core.capacity;
    this.#mask = core.mask;
    this.#data = core.data;
    if (this.#single) {
      try {
        // Past whatever a predecessor published before it died, even without moving HEAD.
        this.#head = core.startHead();
        this.#tail = core.tailBefore(this.#head);
        this.#seq = core.seqAt(this.#head);
        this.#starts.fill(this.#head);
        this.#nextStart = this.#head;
      } catch (err) {
        presence.release();
        throw err;
      }
    }
  }

  /** The largest message this topic carries, in bytes (capacity / 2 - 16). */
  get maxMessageSize(): number {
    return this.#core.maxMessage;
  }

  get closed(): boolean {
    return this.#closed || this.#core.closed;
  }

  /**
   * Copies `bytes` (with a codec, the value encoded) into the ring as one message for every subscriber. Waits (on the
   * event loop) while there is no room: under 'block', until the slowest subscriber
   * releases some; under the other policies only while the oldest message is still
   * being written by another publisher. Rejects with ETIMEDOUT after `timeout` ms, and
   * with AbortError (cause: the signal's reason) on abort.
   */
  publish(bytes: T, opts?: PublishOptions): Promise<void> {
    try {
      const view = this.#bytes(bytes);
      return this.#whenReady(opts, () => (this.#put(view) ? true : undefined)).then(() => undefined);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** publish(), blocking this thread while it waits. */
  publishSync(bytes: T, opts?: PublishSyncOptions): void {
    const view = this.#bytes(bytes);
    const deadline = opts === undefined ? Infinity : deadlineOf(timeoutMs(options<PublishSyncOptions>(opts, SYNC_KEYS).timeout));
    if (this.#put(view)) return;
    waitSync(this.#plan(() => (this.#put(view) ? true : undefined), deadline));
  }

  /** Publishes if there is room now; false (nothing published) otherwise. Never waits. */
  tryPublish(bytes: T): boolean {
    const view = this.#bytes(bytes);
    if (this.#put(view)) return true;
    return this.#freeDeadPolling() && this.#put(view);
  }

  /**
   * Reserves room for a message of up to `size` bytes in the ring, to fill in place and
   * commit: no copy at all. Messages reach subscribers in reservation order, so commit
   * soon: subscribers wait at an uncommitted message.
   */
  reserve(size: number, opts?: PublishOptions): Promise<Reservation> {
    try {
      this.#checkSize(integer('size', size, 0));
      return this.#whenReady(opts, () => this.#reserveNow(size) ?? undefined);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** reserve(), blocking this thread while it waits. */
  reserveSync(size: number, opts?: PublishSyncOptions): Reservation {
    this.#checkSize(integer('size', size, 0));
    const deadline = deadlineOf(timeoutMs(options<PublishSyncOptions>(opts, SYNC_KEYS).timeout));
    const r = this.#reserveNow(size);
    if (r !== null) return r;
    return waitSync(this.#plan(() => this.#reserveNow(size) ?? undefined, deadline));
  }

  /** reserve() if there is room now, else null. */
  tryReserve(size: number): Reservation | null {
    this.#checkSize(integer('size', size, 0));
    const r = this.#reserveNow(size);
    if (r !== null || !this.#freeDeadPolling()) return r;
    return this.#reserveNow(size);
  }

  /** Detaches this publisher. A reservation not committed is skipped by subscribers. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#watch?.close();
    this.#presence.release();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** @internal */
  _commit(record: number, length: number): void {
    this.#checkOpen();
    Atomics.store(this.#i32, (record >> 2) + 1, length);
    if (this.#single) this.#reserved--;
    this.#f64[this.#sent]++;
    this.#f64[this.#sent + 1] += length;
    wake(this.#core.dataSleeper);
    // Another publisher may wait for this reservation, at the tail of a full ring (a plain load when none does).
    if (!this.#single) wake(this.#core.spaceSleeper);
  }

  /** @internal */
  _cancel(record: number): void {
    this.#checkOpen();
    const w = record >> 2;
    // The flags before word 1: a subscriber that sees word 1 leave the reservation reads them after.
    this.#i32[w] |= PAD | CANCELLED;
    Atomics.store(this.#i32, w + 1, 0);
    if (this.#single) this.#reserved--;
    wake(this.#core.dataSleeper);
    wake(this.#core.spaceSleeper);
  }

  // The message's bytes: the hot path for bytes is one type check and one field check.
  #bytes(bytes: unknown): Uint8Array {
    if (!(bytes instanceof Uint8Array) || this.#codec !== null) {
      if (this.#codec !== null) bytes = encodeWith(this.#codec, bytes);
      else if (!ArrayBuffer.isView(bytes)) throw argType('bytes', 'a Uint8Array, Buffer or other ArrayBufferView', bytes);
      else bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
    this.#checkSize((bytes as Uint8Array).length);
    return bytes as Uint8Array;
  }

  #checkSize(size: number): void {
    if (size > this.#core.maxMessage || !(size >= 0)) {
      throw new SystemError('EMSGSIZE', 'topic', this.#core.name, `a message of ${size} bytes is larger than this topic's maximum of ${this.#core.maxMessage} (capacity / 2 - 16)`);
    }
  }

  #checkOpen(): void {
    if (this.#closed || this.#core.closed) throw this.#core.closedError();
  }

  #put(bytes: Uint8Array): boolean {
    const length = bytes.length;
    if (!this.#single) {
      const record = this.#claim(length);
      if (record < 0) return false;
      copy.call(this.#u8, bytes, record + RECORD_HEADER);
      this._commit(record, length);
      return true;
    }
    this.#checkOpen();
    const record = this.#claimSingle(length, length);
    if (record < 0) return false;
    copy.call(this.#u8, bytes, record + HEADER);
    this.#f64[this.#sent]++;
    this.#f64[this.#sent + 1] += length;
    this.#publish(record, ((length + ALIGN - 1) & EXTENT_MASK) | PUBLISHED);
    wake(this.#core.dataSleeper);
    return true;
  }

  #reserveNow(size: number): Reservation | null {
    let record: number;
    if (this.#single) {
      this.#checkOpen();
      // Published reserved: subscribers wait at it, and skip it if this publisher dies.
      record = this.#claimSingle(size, -(this.#tag + 1));
      if (record >= 0) {
        this.#reserved++;
        this.#publish(record, extentOf(size) | WRITTEN);
      }
    } else {
      record = this.#claim(size);
    }
    if (record < 0) return null;
    return new Reservation(this, new Uint8Array(this.#core.buffer, record + RECORD_HEADER, size), record);
  }

  // Single publisher: claims room after #head for a record (and the padding before it at
  // the wrap), writes all of its header but word 0 (word 1 is `word1`: the length, or the
  // reserved mark), and returns its byte offset in the segment, or -1 if the ring is full.
  // The caller fills the payload and publishes the record (#publish).
  #claimSingle(length: number, word1: number): number {
    const capacity = this.#capacity;
    const size = HEADER + ((length + ALIGN - 1) & EXTENT_MASK);
    let head = this.#head;
    let index = head & this.#mask;
    const room = capacity - index;
    // The record, the padding before it at the wrap, and the next record's header.
    const need = (size <= room ? size : size + room) + HEADER;
    if (capacity - ((head - this.#tail) >>> 0) < need && !this.#reclaim(head, need)) return -1;
    const seq = this.#seq;
    if (size > room) {
      this.#core.pad(head, room, seq);
      head = (head + room) | 0;
      index = 0;
    }
    this.#core.header(index, size, word1, head, seq);
    if (((head - this.#nextStart) | 0) >= 0) {
      this.#starts[this.#started] = head;
      this.#started = (this.#started + 1) & (STARTS - 1);
      this.#nextStart = (head + (capacity >>> 4)) | 0;
    }
    this.#head = (head + size) | 0;
    this.#seq = (seq + 1) | 0;
    return this.#data + index;
  }

  // Single publisher: stores the word 0 that publishes a record (and all written before
  // it), then HEAD and NEXT_SEQ, in that order: a publisher that dies between them
  // leaves HEAD behind a written record, which its successor's chainEnd() passes. HEAD
  // must not be seen before the words written ahead of it (a subscriber that attaches
  // starts there, with the sequence number in word 3): plain stores keep that order on
  // x86; elsewhere it is an Atomics.store.
  #publish(record: number, word0: number): void {
    const i32 = this.#i32;
    Atomics.store(i32, record >> 2, word0);
    i32[NEXT_SEQ] = this.#seq;
    if (PLAIN_LOADS_ORDERED) i32[HEAD] = this.#head;
    else Atomics.store(i32, HEAD, this.#head);
  }

  // Single publisher: moves TAIL for `need` bytes after `head`, under the lock (a
  // subscriber attaching holds it while it picks its start); true if they are free now.
  #reclaim(head: number, need: number): boolean {
    const core = this.#core;
    this.#lockBusy = !core.lock(this.#tag);
    if (this.#lockBusy) return false;
    try {
      this.#tail = core.reclaim(head, core.tailBefore(head), need, this.#reserved === 0 ? this.#starts : null);
    } finally {
      core.unlock(this.#tag);
    }
    return core.capacity - ((head - this.#tail) >>> 0) >= need;
  }

  // A record reserved for this publisher, or -1 (no room, or the lock is busy).
  #claim(length: number): number {
    this.#checkOpen();
    const core = this.#core;
    this.#lockBusy = !core.lock(this.#tag);
    if (this.#lockBusy) return -1;
    let record = -1;
    try {
      if (!this.#headChecked) {
        core.startHead();
        this.#headChecked = true;
      }
      record = core.claim(length, this.#tag);
      return record;
    } finally {
      core.unlock(this.#tag);
      // Publishers that found the lock taken may sleep for room: a claim made is what
      // they wait for (a failed one means the ring is full, and subscribers wake them).
      if (record >= 0) wake(core.spaceSleeper);
    }
  }

  // For the calls that never wait: at most every SLICE_MS, a look at whether the
  // subscriber that holds the room died (a waiting call does it in its peer checks); a
  // publisher that only polls would otherwise be held by a dead subscriber for good.
  #freeDeadPolling(): boolean {
    const now = performance.now();
    if (this.#core.heldBy < 0 || now - this.#lastDeadCheck < SLICE_MS) return false;
    this.#lastDeadCheck = now;
    return this.#freeDead();
  }

  #freeDead(): boolean {
    const core = this.#core;
    const slot = core.heldBy;
    if (slot < 0 || !core.lock(this.#tag)) return false;
    try {
      return core.freeIfDead(slot);
    } finally {
      core.unlock(this.#tag);
    }
  }

  #whenReady<T>(opts: PublishOptions | undefined, attempt: () => T | undefined): Promise<T> {
    const o = options<PublishOptions>(opts, ASYNC_KEYS);
    const deadline = deadlineOf(timeoutMs(o.timeout));
    const signal = abortSignal(o.signal);
    if (signal?.aborted) throw new AbortError(signal.reason);
    const r = attempt();
    if (r !== undefined) return Promise.resolve(r);
    return waitAsync(this.#plan(attempt, deadline), signal);
  }

  #plan<T>(attempt: () => T | undefined, deadline: number): WaitPlan<T> {
    const core = this.#core;
    return {
      attempt,
      // The subscriber that holds the room may have died: free its slot. A system
      // call, so only here, on the slow path, and when its death watch fired.
      checkPeer: () => {
        this.#checkOpen();
        this.#freeDead();
      },
      // The death of whoever keeps the room: the slowest subscriber, or the publisher
      // whose reservation is at the tail (its commit wakes us; its death, the watch).
      watchPeer: () => {
        if (this.#lockBusy) return false;
        const participant = core.heldBy >= 0 ? MAX_PUBLISHERS + core.heldBy : core.heldByReservation >= 0 ? tagParticipant(core.heldByReservation) : -1;
        if (participant < 0) return true;
        const s = core.spaceSleeper;
        this.#watch ??= core.watch();
        return this.#watch.arm(core.livenessOffset(participant), 1, { handle: s.handle, byteOffset: s.seq << 2, flagOffset: s.flag << 2, from: 0, to: 0, bellFd: -1 });
      },
      sleeper: core.spaceSleeper,
      strategy: core.wait,
      budget: this.#budget,
      deadline,
      object: core.name,
      what: 'room in the ring',
    };
  }
}

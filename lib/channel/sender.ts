// The producer side of a Channel. The fast path of a send is a few plain stores, one
// copy and one Atomics.store (the record's word 0, which publishes it), with no system
// call and no allocation; the wake-up syscall happens only when the consumer sleeps
// (channel_wait.ts).
import { AbortError, PeerGoneError, SystemError, argType } from '../core/errors';
import type { ChannelCore } from './core';
import {
  CONSUMER_CLOSED,
  H,
  HEADER_SIZE,
  PAD,
  RECORD_FLAGS,
  RECORD_HEADER,
  S,
  SLOT_SIZE,
  WRITTEN,
  ownerTag,
  tagGeneration,
  tagSlot,
} from './layout';
import { wake, waitAsync, waitSync, type WaitPlan } from './wait';
import { SpinBudget } from '../wait/spin';
import { abortSignal, deadlineOf, timeoutMs } from '../core/timeout';
import type { Presence } from '../liveness/presence';
import type { PeerWatch } from '../liveness/watch';
import { integer, options } from '../core/validate';
import { refuseClone } from '../core/handle';
import { senderWritable, type StreamOptions } from './stream';
import type { Writable } from 'node:stream';
import { channelFields, type SenderHandle } from './handle';
import { bytesOnly, codecOfHandle, encodeWith, type BoundCodec, type CodecOption } from '../core/codec';

export interface SendSyncOptions {
  /** Milliseconds to wait for room when the ring is full; ETIMEDOUT after. Default: no limit. */
  timeout?: number;
}

export interface SendOptions extends SendSyncOptions {
  /** Ends the wait with AbortError (the signal's reason in `cause`). */
  signal?: AbortSignal;
}

export interface SenderOptions {
  /** Sends values through this codec (docs/api.md, "Codecs"); default: none, messages are bytes. */
  codec?: CodecOption;
}

const SYNC_KEYS = ['timeout'] as const;
const ASYNC_KEYS = ['timeout', 'signal'] as const;

// Loads of the reservation lock before a multi-producer attempt asks whether its
// holder lives: legitimate holders keep it for a few stores.
const LOCK_SPINS = 1024;
// How far past its head a single producer keeps the free room's cache lines claimed
// (see #claimAhead): 32 lines, enough transfers in flight to cover one's latency at the
// copy's pace (512 B to 8 KiB measured alike here; 32 KiB was slower).
const CLAIM_AHEAD = 2048;
const LINE = 64;

const HEAD = H.HEAD >> 2;
const TAIL = H.TAIL >> 2;
const LOCK = H.RESERVE_LOCK >> 2;
const ROOM_WANTED = H.ROOM_WANTED >> 2;
const CONSUMER_STATE = H.CONSUMER_STATE >> 2;
// TypedArray.prototype.set, called directly: V8 (Node 20) compiled `this.#u8.set` in the
// hot path as a generic property lookup on every call (seen in --print-opt-code); called
// this way, a 64-byte send took 7-10% less time in one process.
const copy = Uint8Array.prototype.set;
/** The word 0 that publishes a record of a `length`-byte message. */
const writtenWord0 = (length: number): number => ((length + 7) & ~7) | WRITTEN;

/** Writes word 1 of the `size`-byte record at data `index`, and a 0 into the word 0 after it, where the consumer will wait next. */
function writeHeader(i32: Int32Array, mask: number, index: number, size: number, word1: number): void {
  i32[(HEADER_SIZE + ((index + size) & mask)) >> 2] = 0;
  i32[((HEADER_SIZE + index) >> 2) + 1] = word1;
}

/**
 * Room reserved in the ring by Sender.reserve(): fill `bytes`, then commit() or cancel().
 * Disposing of one not yet committed cancels it (`using r = tx.reserveSync(n)`), so an
 * exception between the two never leaves the consumer waiting at it.
 */
export class Reservation implements Disposable {
  /** The reserved bytes, inside the ring itself: what is written here is what the consumer reads. */
  readonly bytes: Uint8Array;
  readonly #sender: Sender<unknown>;
  readonly #record: number;
  #open = true;

  /** @internal */
  constructor(sender: Sender<unknown>, bytes: Uint8Array, record: number) {
    this.bytes = bytes;
    this.#sender = sender;
    this.#record = record;
    refuseClone(this, 'Reservation', 'commit or cancel it in the thread that reserved it');
  }

  /** Publishes the first `length` bytes (default: all) as one message. */
  commit(length: number = this.bytes.length): void {
    integer('length', length, 0, this.bytes.length);
    this.#finish();
    this.#sender._commit(this.#record, length);
  }

  /** Gives the room back unused: the consumer skips it. */
  cancel(): void {
    this.#finish();
    this.#sender._cancel(this.#record);
  }

  /** Whether commit() or cancel() is still to come. */
  get open(): boolean {
    return this.#open;
  }

  [Symbol.dispose](): void {
    if (this.#open && !this.#sender.closed) this.cancel();
  }

  #finish(): void {
    if (!this.#open) throw new SystemError('EINVAL', 'channel', undefined, 'this reservation was already committed or cancelled');
    this.#open = false;
  }
}

/** The producer: `T` is what it sends, bytes unless it has a codec. */
export class Sender<T = ArrayBufferView> implements Disposable {
  readonly #core: ChannelCore;
  readonly #codec: BoundCodec | null;
  readonly #i32: Int32Array;
  readonly #u8: Uint8Array;
  readonly #f64: Float64Array;
  readonly #capacity: number;
  readonly #mask: number;
  readonly #maxMessage: number;
  readonly #multi: boolean;
  readonly #presence: Presence;
  /** -(owner tag + 1): word 1 of a record this sender reserved and has not committed. */
  readonly #reservedMark: number;
  readonly #sentIndex: number;
  // The slot's WAITS and WAKEUPS: only this owner writes them, on slow paths (a wait
  // begun, a wake that made a system call), so plain stores do.
  readonly #waitsIndex: number;
  readonly #wakeupsIndex: number;
  /** Single producer: the head, which only this sender moves. */
  #head: number;
  /** The consumer's tail as last read: re-read only when the ring looks full. */
  #tail: number;
  /** Single producer: #claimAhead() has written into the cache lines from the head up to here. */
  #claimed: number;
  #closed = false;
  readonly #budget = new SpinBudget();
  // Armed at the first sleep for room (lib/channel/wait.ts): the consumer's end wakes it.
  #watch: PeerWatch | null = null;
  // The last claim found the reservation lock kept by a live producer. Its release wakes
  // nobody unless its own claim succeeds, and its death is not watched: sleeps are then
  // bounded (watchPeer says so) and the claim is tried again after each.
  #lockBusy = false;

  /** @internal Use Channel.sender(). */
  constructor(core: ChannelCore, codec: BoundCodec | null) {
    this.#core = core;
    this.#codec = codec;
    refuseClone(this, 'Sender');
    this.#i32 = core.i32;
    this.#u8 = core.u8;
    this.#f64 = new Float64Array(core.buffer, 0, HEADER_SIZE >> 3);
    this.#capacity = core.capacity;
    this.#mask = core.mask;
    this.#maxMessage = core.maxMessage;
    this.#multi = core.multi;
    const { presence, generation } = core.peers.claimProducer(core.multi);
    const slot = presence.slot;
    this.#presence = presence;
    this.#reservedMark = -(ownerTag(slot, generation) + 1);
    this.#sentIndex = (H.SLOTS + slot * SLOT_SIZE + S.SENT_MESSAGES) >> 3;
    this.#waitsIndex = (H.SLOTS + slot * SLOT_SIZE + S.WAITS) >> 3;
    this.#wakeupsIndex = (H.SLOTS + slot * SLOT_SIZE + S.WAKEUPS) >> 3;
    this.#tail = Atomics.load(this.#i32, TAIL);
    this.#head = this.#claimed = 0;
    if (core.bell === null) Atomics.store(this.#i32, H.BELL_OFF >> 2, 1);
    if (!this.#multi) {
      try {
        this.#head = this.#chainEnd(Atomics.load(this.#i32, HEAD));
        this.#claimed = this.#head;
        this.#checkSpan(this.#head, this.#tail);
      } catch (err) {
        presence.release();
        throw err;
      }
    }
    // A consumer asleep before any producer came: let it watch this one.
    wake(core.dataSleeper);
  }

  /** The largest message this channel carries, in bytes (capacity / 2 - 8). */
  get maxMessageSize(): number {
    return this.#maxMessage;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Copies `bytes` (any ArrayBufferView; with a codec, the value encoded) into the ring as one message. When the ring is
   * full, waits on the event loop for room up to `timeout` ms (then ETIMEDOUT). Rejects
   * with PeerGoneError if the consumer has closed, or dies while this waits.
   */
  send(bytes: T, opts?: SendOptions): Promise<void> {
    try {
      const view = this.#bytes(bytes);
      return this.#whenReady(opts, () => (this.#put(view) ? true : undefined)).then(() => undefined);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** send() blocking this thread instead (a worker, a CLI: never an event loop that serves others). */
  sendSync(bytes: T, opts?: SendSyncOptions): void {
    const view = this.#bytes(bytes);
    const deadline = opts === undefined ? Infinity : deadlineOf(timeoutMs(options<SendSyncOptions>(opts, SYNC_KEYS).timeout));
    if (this.#put(view)) return;
    waitSync(this.#planFor(view, deadline));
  }

  /**
   * Sends if there is room now; false (nothing sent) if the ring is full, or (multi
   * producer) another producer's process holds the reservation lock and is not running.
   * Never waits.
   */
  trySend(bytes: T): boolean {
    return this.#put(this.#bytes(bytes));
  }

  /**
   * The batch path, for throughput: sends every message of `messages` in order, like
   * send() each, but a single producer publishes them to the consumer once per run
   * that fits (one synchronising store and one wake check instead of one per message:
   * the run's first record is published last).
   * Every message is checked before any is sent. An error after that (ETIMEDOUT, the
   * consumer gone, an abort) carries `sent`: how many messages, from the first, were
   * sent, so the caller can resend the rest without duplicating any.
   */
  async sendMany(messages: readonly T[], opts?: SendOptions): Promise<void> {
    const views = this.#batch(messages);
    const o = options<SendOptions>(opts, ASYNC_KEYS);
    const deadline = deadlineOf(timeoutMs(o.timeout));
    const signal = abortSignal(o.signal);
    let i = 0;
    try {
      if (signal?.aborted) throw new AbortError(signal.reason);
      // next: past what went at once; i + 1 after a wait, which sends views[i] itself.
      for (let next = i; i < views.length; i = next > i ? next : i + 1) {
        next = this.#putSome(views, i);
        if (next === i) await waitAsync(this.#planFor(views[i], deadline), signal);
      }
    } catch (err) {
      throw withSent(err, i);
    }
  }

  /** sendMany() blocking this thread. */
  sendManySync(messages: readonly T[], opts?: SendSyncOptions): void {
    const views = this.#batch(messages);
    const deadline = opts === undefined ? Infinity : deadlineOf(timeoutMs(options<SendSyncOptions>(opts, SYNC_KEYS).timeout));
    let i = 0;
    try {
      for (let next = i; i < views.length; i = next > i ? next : i + 1) {
        next = this.#putSome(views, i);
        if (next === i) waitSync(this.#planFor(views[i], deadline));
      }
    } catch (err) {
      throw withSent(err, i);
    }
  }

  /**
   * Reserves room for a message of up to `size` bytes in the ring, waiting on the event
   * loop for it, to be filled in place and committed: no copy at all. Messages are
   * delivered in reservation order, so commit soon: the consumer waits at an uncommitted
   * message.
   */
  reserve(size: number, opts?: SendOptions): Promise<Reservation> {
    try {
      this.#checkSize(integer('size', size, 0));
      return this.#whenReady(opts, () => this.#reserveNow(size) ?? undefined);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** reserve() blocking this thread. */
  reserveSync(size: number, opts?: SendSyncOptions): Reservation {
    this.#checkSize(integer('size', size, 0));
    const deadline = deadlineOf(timeoutMs(options<SendSyncOptions>(opts, SYNC_KEYS).timeout));
    const r = this.#reserveNow(size);
    if (r !== null) return r;
    return waitSync(this.#plan(() => this.#reserveNow(size) ?? undefined, deadline));
  }

  /** reserve() if there is room now, else null. */
  tryReserve(size: number): Reservation | null {
    this.#checkSize(integer('size', size, 0));
    return this.#reserveNow(size);
  }

  // Every message checked before any is sent.
  #batch(messages: unknown): readonly Uint8Array[] {
    if (!Array.isArray(messages)) throw argType('messages', 'an array of ArrayBufferView', messages);
    if (this.#codec !== null) return messages.map((m) => this.#bytes(m));
    for (let i = 0; i < messages.length; i++) {
      if (this.#bytes(messages[i]) !== messages[i]) return messages.map((m) => this.#bytes(m));
    }
    return messages as Uint8Array[];
  }

  // Sends what fits now from views[i] (a throw sends nothing): the index of the first not sent.
  #putSome(views: readonly Uint8Array[], i: number): number {
    return this.#multi ? i + (this.#put(views[i]) ? 1 : 0) : this.#putRun(views, i);
  }

  // A wait for room that sends `view` once there is.
  #planFor(view: Uint8Array, deadline: number): WaitPlan<true> {
    return this.#plan(() => (this.#put(view) ? true : undefined), deadline);
  }

  /** Detaches this producer; the consumer sees it gone. Reservations not committed are skipped. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#watch?.close();
    this.#presence.release();
    if (!this.#core.closed) {
      // A consumer asleep on an empty ring re-checks who is left; a send of ours asleep
      // for room wakes, finds us closed and rejects with EBADF.
      wake(this.#core.dataSleeper);
      wake(this.#core.spaceSleeper);
    }
    this.#owner?.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** @internal */
  _commit(record: number, length: number): void {
    this.#checkOpen();
    Atomics.store(this.#i32, (record >> 2) + 1, length);
    this.#count(1, length);
    if (wake(this.#core.dataSleeper)) this.#f64[this.#wakeupsIndex]++;
  }

  /** @internal */
  _cancel(record: number): void {
    this.#checkOpen();
    const w = record >> 2;
    this.#i32[w] |= PAD;
    Atomics.store(this.#i32, w + 1, 0);
    if (wake(this.#core.dataSleeper)) this.#f64[this.#wakeupsIndex]++;
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

  // `size` is a message's length or a checked integer: two compares on the hot path.
  #checkSize(size: number): void {
    if (size > this.#maxMessage || !(size >= 0)) {
      throw new SystemError('EMSGSIZE', 'channel', this.#core.name, `a message of ${size} bytes is larger than this channel's maximum of ${this.#maxMessage} (capacity / 2 - 8)`);
    }
  }

  #checkOpen(): void {
    if (this.#closed || this.#core.closed) throw this.#core.closedError();
  }

  #checkCanSend(): void {
    if (this.#closed || this.#core.closed) throw this.#core.closedError();
    if (this.#i32[CONSUMER_STATE] === CONSUMER_CLOSED) throw this.#consumerGone();
  }

  // One attempt to send one message: false if the ring is full.
  #put(bytes: Uint8Array): boolean {
    this.#checkCanSend();
    const length = bytes.length;
    if (this.#multi) {
      const record = this.#claimMulti(length);
      if (record < 0) return false;
      copy.call(this.#u8, bytes, record + RECORD_HEADER);
      this._commit(record, length);
      return true;
    }
    const record = this.#write(bytes);
    if (record < 0) return false;
    this.#count(1, length);
    this.#publish(record, writtenWord0(length));
    if (wake(this.#core.dataSleeper)) this.#f64[this.#wakeupsIndex]++;
    return true;
  }

  // Single producer: writes the messages from views[from] on while they fit and
  // publishes them as one run, its first record's word 0 stored last: the consumer
  // waits there, so the plain stores of the others' word 0 are seen by then. Returns
  // the index of the first message not sent.
  //
  // The loop keeps the head and the free room in locals: as fields, V8 reloads and
  // re-checks them around every copy, which made one way about 9% slower (six
  // interleaved pairs). A record that does not plainly fit (at the wrap, or only once
  // the tail is re-read) goes through #claimSingle.
  #putRun(views: readonly Uint8Array[], from: number): number {
    this.#checkCanSend();
    const i32 = this.#i32;
    const capacity = this.#capacity;
    const mask = this.#mask;
    let head = this.#head;
    let free = capacity - ((head - this.#tail) >>> 0) - RECORD_HEADER;
    let first = -1;
    let bytes = 0;
    let i = from;
    for (; i < views.length; i++) {
      const length = views[i].length;
      const size = RECORD_HEADER + ((length + 7) & ~7);
      const index = head & mask;
      let record: number;
      if (size <= free && index + size <= capacity) {
        record = HEADER_SIZE + index;
        writeHeader(i32, mask, index, size, length);
        head = (head + size) | 0;
        free -= size;
      } else {
        this.#head = head;
        record = this.#claimSingle(length, length);
        if (record < 0) break;
        head = this.#head;
        free = capacity - ((head - this.#tail) >>> 0) - RECORD_HEADER;
      }
      if (((this.#claimed - head) | 0) < CLAIM_AHEAD / 2) {
        this.#head = head;
        this.#claimAhead();
      }
      copy.call(this.#u8, views[i], record + RECORD_HEADER);
      if (first < 0) first = record;
      else i32[record >> 2] = writtenWord0(length);
      bytes += length;
    }
    this.#head = head;
    if (first < 0) return from;
    this.#count(i - from, bytes);
    this.#publish(first, writtenWord0(views[from].length));
    if (wake(this.#core.dataSleeper)) this.#f64[this.#wakeupsIndex]++;
    return i;
  }

  // Single producer: claims a record and copies `bytes` into it, all but word 0;
  // returns the record's offset, or -1 if the ring is full.
  #write(bytes: Uint8Array): number {
    const length = bytes.length;
    const record = this.#claimSingle(length, length);
    if (record < 0) return -1;
    if (((this.#claimed - this.#head) | 0) < CLAIM_AHEAD / 2) this.#claimAhead();
    copy.call(this.#u8, bytes, record + RECORD_HEADER);
    return record;
  }

  // Stores the word 0 that publishes a record (and everything written before it), then
  // HEAD: in that order, so that a producer that dies between the two leaves HEAD behind
  // a written record, which the next one skips (#chainEnd), never ahead of a record
  // that would then stay unwritten. HEAD is for producers and stats(); the consumer
  // does not poll it, so a plain store keeps its line in this core's cache.
  #publish(record: number, word0: number): void {
    Atomics.store(this.#i32, record >> 2, word0);
    this.#i32[HEAD] = this.#head;
  }

  // The end of the chain of written records from `head`: where word 0 is still 0. HEAD
  // lags the chain only when a producer died between a record's word 0 and HEAD
  // (#publish): by one record, two at the wrap (the padding and the message), or a
  // whole sendMany run; never by more than the ring.
  #chainEnd(head: number): number {
    const i32 = this.#i32;
    const from = head;
    for (;;) {
      const index = head & this.#mask;
      const w = (HEADER_SIZE + index) >> 2;
      const word0 = Atomics.load(i32, w);
      if (word0 === 0) return head;
      const extent = word0 & ~RECORD_FLAGS;
      const walked = ((head - from) >>> 0) + RECORD_HEADER + extent;
      if (walked > this.#capacity || (head & 7) !== 0 || word0 < 0 || (word0 & (RECORD_FLAGS & ~PAD)) !== WRITTEN || index + RECORD_HEADER + extent > this.#capacity) {
        throw this.#core.corrupt(`the record at head ${head >>> 0} has header 0x${(word0 >>> 0).toString(16)}, where the chain of written records should end`, w << 2, word0);
      }
      head = (head + RECORD_HEADER + extent) | 0;
    }
  }

  #reserveNow(size: number): Reservation | null {
    this.#checkCanSend();
    let record: number;
    if (this.#multi) {
      record = this.#claimMulti(size);
    } else {
      record = this.#claimSingle(size, this.#reservedMark);
      if (record >= 0) this.#publish(record, writtenWord0(size));
    }
    if (record < 0) return null;
    return new Reservation(this, new Uint8Array(this.#core.buffer, record + RECORD_HEADER, size), record);
  }

  // Single producer: writes one word into each cache line of the free room just past
  // the head, up to CLAIM_AHEAD bytes ahead. The consumer read those lines a lap ago,
  // so the first store into each must take the line back from the consumer's core; one
  // store per line, made early, lets those transfers overlap, where the copy's eight
  // stores per line would otherwise wait for each in turn (measured in docs/channel.md,
  // Performance). The room is this producer's: past the head, before the tail as last
  // read; and no consumer trusts a byte past the published head.
  #claimAhead(): void {
    const head = this.#head;
    // Behind the head (a padding record, reserve() or a large message moved it): restart there.
    let at = ((this.#claimed - head) | 0) < 0 ? head : this.#claimed;
    const far = Math.min(CLAIM_AHEAD, this.#capacity - ((head - this.#tail) >>> 0));
    const i32 = this.#i32;
    const mask = this.#mask;
    at = (at + LINE - 1) & -LINE;
    while (((at - head) >>> 0) < far) {
      i32[(HEADER_SIZE + (at & mask)) >> 2] = 0;
      at = (at + LINE) | 0;
    }
    this.#claimed = at;
  }

  #count(messages: number, bytes: number): void {
    this.#f64[this.#sentIndex] += messages;
    this.#f64[this.#sentIndex + 1] += bytes;
  }


  // Single producer: claims room after this.#head for a record, writes its word 1
  // (`word1`: the length, or the reserved mark) and a 0 into word 0 of the position
  // after it (where the consumer will wait next); returns the record's byte offset in
  // the segment, or -1 if the ring is full. The caller fills the payload and publishes
  // the record (#publish). The room claimed includes that next word 0.
  #claimSingle(length: number, word1: number): number {
    const extent = (length + 7) & ~7;
    const size = RECORD_HEADER + extent;
    let head = this.#head;
    let index = head & this.#mask;
    const room = this.#capacity - index;
    const need = (size <= room ? size : size + room) + RECORD_HEADER;
    if (this.#capacity - ((head - this.#tail) >>> 0) < need && !this.#refreshTail(head, need)) return -1;
    const i32 = this.#i32;
    if (size > room) {
      // Not enough room before the end: a padding record fills it and the message
      // starts at the beginning, so every message is contiguous.
      const pad = (HEADER_SIZE + index) >> 2;
      i32[HEADER_SIZE >> 2] = 0;
      i32[pad + 1] = 0;
      Atomics.store(i32, pad, (room - RECORD_HEADER) | WRITTEN | PAD);
      head = (head + room) | 0;
      index = 0;
    }
    writeHeader(i32, this.#mask, index, size, word1);
    this.#head = (head + size) | 0;
    return HEADER_SIZE + index;
  }

  // Multi-producer: the same under the reservation lock, reading and publishing the
  // shared head. The record is published reserved (word 1 the owner's mark) before the
  // lock is released, so the consumer always knows its extent, and can skip it if its
  // owner dies before committing. The lock (not a fetch-add) is what makes that
  // possible, and lets a producer that finds the ring full leave without having claimed
  // anything.
  //
  // A live holder that keeps the lock (stopped, frozen or off its CPU) makes this attempt
  // fail like a full ring: trySend() returns false, and sendSync() and send() wait on the
  // channel's wait strategy, woken when a claim releases the lock or, failing that, after each sleep slice.
  #claimMulti(length: number): number {
    const i32 = this.#i32;
    if (!this.#lock()) return -1;
    let record = -1;
    try {
      const published = Atomics.load(i32, HEAD);
      if ((published & 7) !== 0) throw this.#core.corrupt(`head ${published >>> 0} is not a multiple of 8`, H.HEAD, published);
      const head = this.#chainEnd(published);
      // Always re-read: other producers move the head, and a tail this one read more
      // than 2^32 bytes ago can look recent again (and the ring emptier than it is).
      this.#refreshTail(head, 0);
      this.#head = head;
      record = this.#claimSingle(length, this.#reservedMark);
      if (record >= 0) this.#publish(record, writtenWord0(length));
      return record;
    } finally {
      Atomics.compareExchange(i32, LOCK, -this.#reservedMark, 0);
      // Producers that found the lock taken may sleep on the space futex: a claim made
      // is what they wait for (a failed one means the ring is full, and the consumer wakes them).
      if (record >= 0) wake(this.#core.spaceSleeper);
    }
  }

  // Takes the reservation lock: false if a live producer holds it.
  #lock(): boolean {
    const taken = this.#takeLock();
    this.#lockBusy = !taken;
    return taken;
  }

  #takeLock(): boolean {
    const i32 = this.#i32;
    const mine = -this.#reservedMark; // owner tag + 1, never 0
    let holder = 0;
    for (let i = 0; i < LOCK_SPINS; i++) {
      holder = Atomics.load(i32, LOCK);
      if (holder === 0 && Atomics.compareExchange(i32, LOCK, 0, mine) === 0) return true;
    }
    if (holder === 0) return false; // taken and released by others all along: as busy
    if (holder === mine) throw this.#core.corrupt('the reservation lock names this producer, which does not hold it', H.RESERVE_LOCK, holder);
    const tag = holder - 1;
    if (tag >= 0 && this.#core.peers.producerAlive(tagSlot(tag), tagGeneration(tag))) return false;
    // The holder died inside its few stores (or the word is garbage): take over.
    // A record it had not published lies past the chain's end and is overwritten; one
    // it had, #chainEnd skips and the consumer skips as abandoned.
    return Atomics.compareExchange(i32, LOCK, holder, mine) === holder;
  }

  // Re-reads the consumer's tail; true if `need` bytes are now free after `head`.
  #refreshTail(head: number, need: number): boolean {
    const tail = Atomics.load(this.#i32, TAIL);
    this.#checkSpan(head, tail);
    this.#tail = tail;
    if (this.#capacity - ((head - tail) >>> 0) >= need) return true;
    if (this.#i32[ROOM_WANTED] === 0) Atomics.store(this.#i32, ROOM_WANTED, 1);
    return false;
  }

  #checkSpan(head: number, tail: number): void {
    if ((tail & 7) !== 0 || (head & 7) !== 0 || (head - tail) >>> 0 > this.#capacity) {
      throw this.#core.corrupt(`head ${head >>> 0} and tail ${tail >>> 0} are not 8-aligned at most ${this.#capacity} bytes apart`, H.TAIL, tail);
    }
  }

  #consumerGone(): PeerGoneError {
    return new PeerGoneError(this.#core.name, 'consumer', 'the consumer has gone (closed, or its process died)');
  }

  // The async paths: `attempt` now, then again whenever room may have appeared, without
  // blocking the event loop, until `opts.timeout` or `opts.signal`.
  #whenReady<T>(opts: SendOptions | undefined, attempt: () => T | undefined): Promise<T> {
    const o = options<SendOptions>(opts, ASYNC_KEYS);
    const deadline = deadlineOf(timeoutMs(o.timeout));
    const signal = abortSignal(o.signal);
    if (signal?.aborted) throw new AbortError(signal.reason);
    const r = attempt();
    if (r !== undefined) return Promise.resolve(r);
    return waitAsync(this.#plan(attempt, deadline), signal);
  }

  #plan<T>(attempt: () => T | undefined, deadline: number): WaitPlan<T> {
    this.#f64[this.#waitsIndex]++; // one plan per wait
    return {
      attempt,
      checkPeer: () => {
        this.#checkOpen();
        if (this.#core.peers.consumer() === 'gone') throw this.#consumerGone();
      },
      watchPeer: () => {
        if (this.#lockBusy) return false;
        const range = this.#core.peers.consumerToWatch();
        if (range === null) return true;
        const s = this.#core.spaceSleeper;
        this.#watch ??= this.#core.peers.watch();
        return this.#watch.arm(range[0], range[1], { handle: s.handle, byteOffset: s.seq << 2, flagOffset: s.flag << 2, from: 0, to: 0, bellFd: -1 });
      },
      sleeper: this.#core.spaceSleeper,
      strategy: this.#core.wait,
      budget: this.#budget,
      deadline,
      object: this.#core.name,
      what: 'room in the ring',
    };
  }

  /**
   * A plain object for a Worker, where fromHandle() opens the channel again and takes
   * a new producer of it; that sender closes the channel with it (docs/api.md, "Workers").
   */
  handle(): SenderHandle {
    return { podshm: 'Sender', ...channelFields(this.#core), ...codecOfHandle(this.#codec, 'sender') };
  }

  // Set by fromHandle(): the Channel opened for this endpoint alone.
  #owner: { close(): void } | null = null;

  /** @internal */
  _closeWith(channel: { close(): void }): void {
    this.#owner = channel;
  }

  /**
   * This sender as a Node Writable of bytes, for stream.pipeline(): a write completes
   * once its bytes are in the ring, so a full ring holds the writer back; end() and
   * destroy() close the sender (docs/api.md, "Streams").
   */
  writable(opts?: StreamOptions): Writable {
    bytesOnly(this.#codec, 'writable()');
    return senderWritable(this as Sender, opts);
  }
}

/** An error of sendMany after `sent` messages went: says how many, so the rest can be resent. */
function withSent(err: unknown, sent: number): unknown {
  if (err instanceof Error) Object.assign(err, { sent });
  return err;
}

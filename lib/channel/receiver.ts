// The consumer side of a Channel. receive() hands out copies; the view forms hand out
// the ring itself, whose room goes back to producers at the next receive or release(). The tail is
// published lazily (every quarter ring, whenever the consumer has caught up, or at
// once when a producer sleeps for room), and the consumer learns of new messages from
// the records themselves, so the fast path reads no line but the ring's.
import { AbortError, PeerGoneError, SystemError, argType } from '../core/errors';
import type { ChannelCore } from './core';
import { H, HEADER_SIZE, PAD, RECORD_FLAGS, RECORD_HEADER, WRITTEN, tagGeneration, tagSlot } from './layout';
import { PLAIN_LOADS_ORDERED, wake, waitAsync, waitSync, type WaitPlan } from './wait';
import { SLICE_MS } from '../wait/loop';
import { SpinBudget } from '../wait/spin';
import { abortSignal, deadlineOf, timeoutMs } from '../core/timeout';
import type { Presence } from '../liveness/presence';
import type { PeerWatch, WatchTarget } from '../liveness/watch';
import { integer, options } from '../core/validate';
import { refuseClone } from '../core/handle';
import { receiverReadable, type StreamOptions } from './stream';
import type { Readable } from 'node:stream';
import { channelFields, type ReceiverHandle } from './handle';
import { bytesOnly, codecOfHandle, decodeWith, type BoundCodec, type CodecOption } from '../core/codec';

export interface ReceiveSyncOptions {
  /** Milliseconds to wait for a message; ETIMEDOUT after. Default: no limit. */
  timeout?: number;
}

export interface ReceiveOptions extends ReceiveSyncOptions {
  /** Ends the wait with AbortError (the signal's reason in `cause`). */
  signal?: AbortSignal;
}

export interface ReceiverOptions {
  /**
   * What a waiting receive does once every producer has gone and the ring is empty:
   * 'wait' (default) for the next producer, as after a restart; 'end': reject with
   * PeerGoneError, and a for-await loop ends.
   */
  producersGone?: 'wait' | 'end';
  /**
   * Receives values through this codec (docs/api.md, "Codecs"): receive(), its Sync and
   * try forms and for await decode; the view forms and drain() still give bytes.
   * Default: none, messages are bytes.
   */
  codec?: CodecOption;
}

const SYNC_KEYS = ['timeout'] as const;
// for await: messages handed out before the event loop is let turn (a count, not a time),
// and the most bytes copied into one chunk.
const YIELD_EVERY = 1024;
const BATCH_BYTES = 256 * 1024;
const copyInto = Uint8Array.prototype.set;
const ASYNC_KEYS = ['timeout', 'signal'] as const;

// A batch of for await: message i is chunk[offsets[i], offsets[i] + lengths[i]).
// spans: per span copied, its start in the ring (index into the segment, and position)
// and in the chunk, three numbers each.
interface Batch {
  chunk: ArrayBufferLike;
  // A batch of one message holds its own copy instead of a chunk: at low rates every
  // batch is one message, and V8 allocates a small typed array on its heap, where a
  // chunk takes a buffer outside it (a few µs on the wake-up path here).
  lone: Uint8Array | null;
  count: number;
  readonly offsets: Int32Array;
  readonly lengths: Int32Array;
  readonly spans: number[];
}

// Where message i's record starts in the ring (a position as #read counts them), found
// from its span: return() puts the read position back there.
function ringPosition(batch: Batch, i: number): number {
  const record = batch.offsets[i] - RECORD_HEADER;
  const spans = batch.spans;
  let s = 0;
  while (s + 3 < spans.length && spans[s + 5] <= record) s += 3;
  return (spans[s + 1] + record - spans[s + 2]) | 0;
}

/** drain()'s callback: the message is bytes[offset, offset + length), valid during the call only. */
export type MessageHandler = (bytes: Uint8Array, offset: number, length: number) => void;

const HEAD = H.HEAD >> 2;
const TAIL = H.TAIL >> 2;
const PRODUCERS_SLEEPING = H.PRODUCERS_SLEEPING >> 2;
const ROOM_WANTED = H.ROOM_WANTED >> 2;
const RECEIVED = H.RECEIVED_MESSAGES >> 3;
const WAITS = H.CONSUMER_WAITS >> 3;
const WAKEUPS = H.CONSUMER_WAKEUPS >> 3;
const CAUGHT_UP_AT = H.CAUGHT_UP_AT >> 3;
const CAUGHT_UP_MESSAGES = H.CAUGHT_UP_MESSAGES >> 3;

/** The consumer: `T` is what receive() gives, bytes unless it has a codec. */
export class Receiver<T = Uint8Array> implements Disposable, AsyncIterable<T> {
  readonly #core: ChannelCore;
  readonly #codec: BoundCodec | null;
  readonly #buffer: SharedArrayBuffer;
  readonly #i32: Int32Array;
  readonly #u8: Uint8Array;
  readonly #f64: Float64Array;
  readonly #capacity: number;
  readonly #mask: number;
  readonly #publishEvery: number;
  /** Position of the next record to read. */
  #read: number;
  /** End of what has been released (all before #read once nothing is held). */
  #released: number;
  /** The tail as last published to producers. */
  #published: number;
  /** Set by #next() when it stops at an uncommitted record: that record's owner tag, else -1. */
  #blockedBy = -1;
  /** Payload offset and length of the message #next() found. */
  #at = 0;
  #length = 0;
  #messages = 0;
  #bytes = 0;
  /** #messages when the clock was last stamped at CAUGHT_UP_AT. */
  #stamped = -1;
  #closed = false;
  /** A receive (of either form) waits on the event loop. */
  #pending = false;
  /** A peer check found the message at #at: the next attempt hands it out. */
  #found = false;
  /** When #nextPolling() last looked at the owner of a reservation. */
  #lastSkipCheck = -Infinity;
  readonly #budget = new SpinBudget();
  readonly #endWhenProducersGone: boolean;
  /** A batch is being copied: the messages found so far keep their room (see #caughtUp). */
  #holding = false;
  readonly #presence: Presence;
  // Armed at the first sleep (lib/channel/wait.ts): the producers' end wakes it.
  #watch: PeerWatch | null = null;

  /** @internal Use Channel.receiver(). */
  constructor(core: ChannelCore, producersGone: 'wait' | 'end', codec: BoundCodec | null) {
    this.#core = core;
    this.#codec = codec;
    refuseClone(this, 'Receiver');
    this.#endWhenProducersGone = producersGone === 'end';
    this.#buffer = core.buffer;
    this.#i32 = core.i32;
    this.#u8 = core.u8;
    this.#f64 = new Float64Array(core.buffer, 0, HEADER_SIZE >> 3);
    this.#capacity = core.capacity;
    this.#mask = core.mask;
    this.#publishEvery = core.capacity >>> 2;
    this.#presence = core.peers.claimConsumer();
    // A consumer that takes over from a dead one resumes at the published tail, so
    // what the dead one had read but not yet released is delivered again.
    const tail = Atomics.load(this.#i32, TAIL);
    const head = Atomics.load(this.#i32, HEAD);
    this.#read = this.#released = this.#published = tail;
    try {
      if ((tail & 7) !== 0) throw this.#core.corrupt(`tail ${tail >>> 0} is not a multiple of 8`, H.TAIL, tail);
      if ((head & 7) !== 0 || ((head - tail) >>> 0) > this.#capacity) {
        throw this.#core.corrupt(`head ${head >>> 0} is not 8-aligned within ${this.#capacity} bytes after tail ${tail >>> 0}`, H.HEAD, head);
      }
    } catch (err) {
      this.#presence.release();
      throw err;
    }
    this.#messages = this.#f64[RECEIVED];
    this.#bytes = this.#f64[RECEIVED + 1];
    this.#stamped = this.#messages;
    // Producers asleep for room before any consumer came: let them watch this one.
    wake(core.spaceSleeper);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * The next message, waiting on the event loop up to `timeout` ms (ETIMEDOUT); a copy
   * that is the caller's to keep. One receive at a time: another while this one waits
   * is EBUSY.
   */
  receive(opts?: ReceiveOptions): Promise<T> {
    return this.#receiveAsync(opts, true) as Promise<T>;
  }

  /** receive() blocking this thread instead (a worker, a CLI: never an event loop that serves others). */
  receiveSync(opts?: ReceiveSyncOptions): T {
    return this.#own(this.#receiveSync(opts));
  }

  /** The next message if one is ready now (a copy), else null. */
  tryReceive(): T | null {
    const view = this.tryReceiveView();
    return view === null ? null : this.#own(view);
  }

  /**
   * receive() without the copy: a view into the ring, valid until the next receive of
   * any form or release(); the bytes under it are then reused for later messages.
   */
  receiveView(opts?: ReceiveOptions): Promise<Uint8Array> {
    return this.#receiveAsync(opts, false) as Promise<Uint8Array>;
  }

  /** receiveView() blocking this thread. */
  receiveViewSync(opts?: ReceiveSyncOptions): Uint8Array {
    return this.#receiveSync(opts);
  }

  /** tryReceive() without the copy: a view as receiveView() gives. */
  tryReceiveView(): Uint8Array | null {
    this.#checkIdle();
    this.#release();
    if (this.#nextPolling() < 0) return null;
    return new Uint8Array(this.#buffer, this.#at, this.#length);
  }

  #receiveSync(opts: unknown): Uint8Array {
    const deadline = opts === undefined ? Infinity : deadlineOf(timeoutMs(options<ReceiveSyncOptions>(opts, SYNC_KEYS).timeout));
    this.#checkIdle();
    this.#release();
    if (this.#next() < 0) waitSync(this.#plan(deadline));
    return new Uint8Array(this.#buffer, this.#at, this.#length);
  }

  #receiveAsync(opts: unknown, copy: boolean): Promise<Uint8Array | T> {
    try {
      const o = options<ReceiveOptions>(opts, ASYNC_KEYS);
      const deadline = deadlineOf(timeoutMs(o.timeout));
      const signal = abortSignal(o.signal);
      if (signal?.aborted) throw new AbortError(signal.reason);
      const arrival = this.#arrival(deadline, signal);
      if (arrival === null) return Promise.resolve(this.#handOut(copy));
      return arrival.then(copy ? this.#waitedCopy : this.#waitedView, this.#waitFailed);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  // Releases the last message and finds the next: null if it is there now, else the
  // wait for it, which the caller must end with #waited() or #waitFailed.
  #arrival(deadline: number, signal: AbortSignal | undefined): Promise<true> | null {
    this.#checkIdle();
    this.#release();
    if (this.#nextPolling() >= 0) return null;
    this.#pending = true;
    return waitAsync(this.#plan(deadline), signal);
  }

  // The ends of a wait on the event loop, made once (per wait, they would be garbage per message).
  readonly #waited = (): void => {
    this.#pending = false;
  };
  readonly #waitedView = (): Uint8Array | T => {
    this.#waited();
    return this.#handOut(false);
  };
  readonly #waitedCopy = (): Uint8Array | T => {
    this.#waited();
    return this.#handOut(true);
  };
  readonly #waitFailed = (err: unknown): never => {
    this.#waited();
    throw err;
  };

  // A copy's room, like a view's, goes back at the next receive: a consumer that dies
  // while it handles the message gets it again after a restart (at least once).
  #handOut(copy: boolean): Uint8Array | T {
    const view = new Uint8Array(this.#buffer, this.#at, this.#length);
    return copy ? this.#own(view) : view;
  }

  // What the caller keeps of a message: a copy, or its decoded value. A message that
  // does not decode is taken all the same (its room goes back at the next receive).
  #own(view: Uint8Array): T {
    return (this.#codec === null ? view.slice() : decodeWith(this.#codec, view)) as T;
  }

  /**
   * The batch path, for throughput: calls `handler(bytes, offset, length)` for each
   * message ready now (at most `max`), without waiting and without allocating: `bytes`
   * is the same view of the whole segment every time, and the message is
   * bytes[offset, offset + length), valid during the call. Returns how many it handled.
   */
  drain(handler: MessageHandler, max = Infinity): number {
    if (typeof handler !== 'function') throw argType('handler', 'a function', handler);
    if (max !== Infinity) integer('max', max, 0);
    this.#checkIdle();
    this.#release();
    const u8 = this.#u8;
    let n = 0;
    try {
      while (n < max && this.#nextPolling() >= 0) {
        n++;
        handler(u8, this.#at, this.#length);
      }
    } finally {
      this.#release();
    }
    return n;
  }

  /** Gives the room of the last view back to producers (the view must not be used after). */
  release(): void {
    this.#release();
  }

  /**
   * Yields every message as receive() gives it (a copy that never changes), across
   * producer restarts; the loop ends when the receiver is closed, or with producersGone:
   * 'end' once every producer has gone and the ring is empty. What is ready is copied out
   * in batches (one allocation per batch: a message kept alive keeps its batch's chunk,
   * at most BATCH_BYTES beside it), and after YIELD_EVERY messages handed out without
   * a wait the loop lets the event loop turn once, so a flood never starves timers and I/O.
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    if (this.#codec !== null) return this.#values();
    const batch: Batch = { chunk: new ArrayBuffer(0), lone: null, count: 0, offsets: new Int32Array(YIELD_EVERY), lengths: new Int32Array(YIELD_EVERY), spans: [] };
    let next = 0;
    let sinceTurn = 0;
    let ended = false;
    const done = (): IteratorResult<Uint8Array> => {
      ended = true;
      batch.count = 0;
      batch.chunk = new ArrayBuffer(0);
      batch.lone = null;
      return { value: undefined, done: true };
    };
    // A receive ended in an error: the loop ends if the producers have gone (with
    // producersGone: 'end') or this receiver was closed, and throws otherwise.
    const failed = (err: unknown): IteratorResult<Uint8Array> => {
      if (err instanceof PeerGoneError || (this.#closed && (err as SystemError).code === 'EBADF')) return done();
      throw err;
    };
    // Copies out the batch from the message just found, and hands out its first message.
    const copied = (): IteratorResult<Uint8Array> | Promise<IteratorResult<Uint8Array>> => {
      if (ended) {
        // return() came while the refill waited: the message it found is read again next time.
        this.#unread((this.#read - this.#recordSize()) | 0, 1, this.#length);
        return { value: undefined, done: true };
      }
      try {
        this.#copyBatch(batch);
      } catch (err) {
        return failed(err);
      }
      return step();
    };
    // Ends the wait for the next batch (made once: per wait it would be garbage per message).
    const waited = (): IteratorResult<Uint8Array> | Promise<IteratorResult<Uint8Array>> => {
      this.#waited();
      return copied();
    };
    const waitFailed = (err: unknown): IteratorResult<Uint8Array> => {
      this.#waited();
      return failed(err);
    };
    // Gives back the room of the batch handed out (the receive releases first) and
    // copies out the next, waiting for it on the event loop. A wait may end in the poll
    // phase, before setImmediate's: it does not count as a turn of the loop, only the
    // loop's own yield does.
    const refill = (): Promise<IteratorResult<Uint8Array>> => {
      // Nothing of the last batch is left to hand out, or for return() to give back.
      next = 0;
      batch.count = 0;
      let arrival: Promise<true> | null;
      try {
        arrival = this.#arrival(Infinity, undefined);
      } catch (err) {
        return new Promise((resolve) => resolve(failed(err)));
      }
      if (arrival !== null) return arrival.then(waited, waitFailed);
      // A corrupt record throws out of the copy: a rejection, as next() must give.
      return new Promise((resolve) => resolve(copied()));
    };
    const step = (): IteratorResult<Uint8Array> | Promise<IteratorResult<Uint8Array>> => {
      if (++sinceTurn > YIELD_EVERY) {
        sinceTurn = 0;
        // return() may come meanwhile: it un-reads this message, so it is not handed out.
        return new Promise<void>((resolve) => setImmediate(resolve)).then(() => (ended ? { value: undefined, done: true } : step()));
      }
      const i = next++;
      return { value: batch.lone ?? new Uint8Array(batch.chunk, batch.offsets[i], batch.lengths[i]), done: false };
    };
    const iterator = {
      // A plain function: an async one would cost a second promise per message.
      next: () => {
        if (ended) return Promise.resolve({ value: undefined, done: true });
        if (next === batch.count) return refill();
        return Promise.resolve(step());
      },
      // Leaving the loop (break, return, throw) gives back what was copied but not handed
      // out: its room is still held, so the next receive reads it again.
      return: async () => {
        if (next < batch.count && !ended && !this.#closed) {
          let bytes = 0;
          for (let i = next; i < batch.count; i++) bytes += batch.lengths[i];
          this.#unread(ringPosition(batch, next), batch.count - next, bytes);
        }
        return done();
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator as AsyncIterableIterator<Uint8Array> as AsyncIterableIterator<T>;
  }

  // for await with a codec: one receive() per value, unbatched, so that a message that
  // does not decode throws out of the loop and the next loop starts at the message after it.
  async *#values(): AsyncIterableIterator<T> {
    for (;;) {
      try {
        yield await this.receive();
      } catch (err) {
        if (err instanceof PeerGoneError || (this.#closed && (err as SystemError).code === 'EBADF')) return;
        throw err;
      }
    }
  }

  // The message just received as a view, and whatever else is ready now (up to
  // YIELD_EVERY messages and BATCH_BYTES), copied out into one new chunk that the
  // messages handed out view. Records that follow each other in the ring are copied as
  // one span, headers included (one copy per span, not per message); a span ends where
  // the ring wraps or a record was skipped. Every record is checked by #nextPolling()
  // before its span is copied, and the batch's room stays held (as a view's would) until
  // the next receive, so no producer writes under the copy.
  #copyBatch(batch: Batch): void {
    const { offsets, lengths, spans } = batch;
    const first = this.#length;
    const firstAt = this.#at;
    // The open span: where it starts in the ring (index into #u8, and position) and in
    // the chunk, and where its last record ends in the ring.
    let from = firstAt - RECORD_HEADER;
    let size = this.#recordSize();
    let fromPos = (this.#read - size) | 0;
    let base = 0;
    let end = from + size;
    // Counted only once the batch is whole: a corrupt record met on the way throws
    // with nothing of it handed out.
    batch.count = 0;
    spans.length = 0;
    lengths[0] = first;
    offsets[0] = RECORD_HEADER;
    if (size > BATCH_BYTES) {
      spans.push(from, fromPos, base);
      batch.lone = this.#u8.slice(firstAt, firstAt + first);
      batch.count = 1;
      return;
    }
    let count = 1;
    this.#holding = true;
    try {
      while (count < YIELD_EVERY) {
        const read = this.#read;
        if (this.#nextPolling() < 0) break;
        const record = this.#at - RECORD_HEADER;
        size = this.#recordSize();
        if (record !== end) {
          spans.push(from, fromPos, base);
          base += end - from;
          from = record;
          fromPos = (this.#read - size) | 0;
          end = record;
        }
        if (base + end - from + size > BATCH_BYTES) {
          this.#unread(read, 1, this.#length);
          break;
        }
        end += size;
        offsets[count] = base + this.#at - from;
        lengths[count++] = this.#length;
      }
    } finally {
      this.#holding = false;
    }
    spans.push(from, fromPos, base);
    const u8 = this.#u8;
    if (count === 1) {
      batch.lone = u8.slice(firstAt, firstAt + first);
      batch.count = 1;
      return;
    }
    const bytes = base + end - from;
    let chunk: Uint8Array;
    if (spans.length === 3) chunk = u8.slice(from, end);
    else {
      chunk = new Uint8Array(bytes);
      for (let s = 0; s < spans.length; s += 3) {
        const stop = s + 3 < spans.length ? spans[s + 5] - spans[s + 2] + spans[s] : end;
        copyInto.call(chunk, u8.subarray(spans[s], stop), spans[s + 2]);
      }
    }
    batch.chunk = chunk.buffer;
    batch.lone = null;
    batch.count = count;
  }

  // The size in the ring (header and extent) of the record #next() just found: it ends
  // at #read, and takes at most the whole ring (a record of exactly the ring's size, which
  // only a scribbling peer writes, is not 0).
  #recordSize(): number {
    return (((this.#read - (this.#at - RECORD_HEADER - HEADER_SIZE) - 1) & this.#mask) + 1) | 0;
  }

  // Puts the read position back to `read`, before `count` messages of `bytes` in all
  // (counted, not handed out, their room still held): the next receive reads them again.
  #unread(read: number, count: number, bytes: number): void {
    this.#read = read;
    this.#blockedBy = -1;
    this.#messages -= count;
    this.#bytes -= bytes;
  }

  /**
   * @internal Ends this receiver's pending receive, if any, with `err`: for a loop that
   * stops its many waits at once (a service client's pump), where a signal passed to
   * every wait costs an abort listener, added and removed, per wait.
   */
  interrupt(err: unknown): void {
    if (this.#pending) this.#waitPlan?.waiting?.cancel(err);
  }

  /** Detaches the consumer: producers see it gone. */
  close(): void {
    if (this.#closed) return;
    if (!this.#core.closed) {
      this.#release();
      this.#publish();
      this.#core.peers.consumerClosing();
    }
    this.#closed = true;
    this.#watch?.close();
    this.#presence.release();
    if (!this.#core.closed) wake(this.#core.spaceSleeper);
    // A receive of ours waiting on the event loop rejects with EBADF now (and a
    // for-await loop ends), and leaves the bell to the next receiver.
    if (this.#pending) this.#waitPlan?.waiting?.cancel(this.#core.closedError());
    this.#owner?.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  // A pending receive owns #at and #length until it settles: a second receive would
  // move them under it, and the two would get the same message.
  #checkIdle(): void {
    if (this.#pending) throw new SystemError('EBUSY', 'receive', this.#core.name, 'a receive() of this receiver is pending: one receive at a time');
  }

  #release(): void {
    if (this.#closed || this.#core.closed) throw this.#core.closedError();
    this.#released = this.#read;
    // Plain reads are enough here: a producer re-reads the tail after raising either
    // word, and a stale zero costs it one more try (or one sleep slice) at worst.
    if (((this.#released - this.#published) >>> 0) >= this.#publishEvery || this.#i32[PRODUCERS_SLEEPING] !== 0 || this.#i32[ROOM_WANTED] !== 0) {
      this.#publish();
    }
  }

  #publish(): void {
    if (this.#published === this.#released) return;
    this.#published = this.#released;
    this.#f64[RECEIVED] = this.#messages;
    this.#f64[RECEIVED + 1] = this.#bytes;
    if (this.#i32[ROOM_WANTED] !== 0) this.#i32[ROOM_WANTED] = 0;
    Atomics.store(this.#i32, TAIL, this.#released);
    if (wake(this.#core.spaceSleeper)) this.#f64[WAKEUPS]++;
  }

  // Finds the next committed message: sets #at and #length and returns #at, or
  // returns -1 if there is none yet. Every value read from the ring is checked
  // before use; a bad one throws ChannelCorruptError.
  #next(): number {
    const i32 = this.#i32;
    for (;;) {
      const pos = this.#read;
      const index = pos & this.#mask;
      const w = (HEADER_SIZE + index) >> 2;
      if (Atomics.load(i32, w) === 0) {
        this.#blockedBy = -1;
        this.#caughtUp();
        return -1;
      }
      // Plain read where the hardware orders it after the word 0 just loaded (word 1 was
      // written before that was stored); only a reserved record's commit comes later,
      // and that one is re-read with Atomics.load, for the payload written before it.
      let word1 = PLAIN_LOADS_ORDERED ? i32[w + 1] : Atomics.load(i32, w + 1);
      if (word1 < 0) word1 = Atomics.load(i32, w + 1);
      if (word1 < 0) {
        this.#blockedBy = -word1 - 1;
        this.#caughtUp();
        return -1;
      }
      const extent = this.#extent(w, index, pos);
      const pad = (i32[w] & PAD) !== 0;
      if (!pad && word1 > extent) throw this.#core.corrupt(`a record at ${pos >>> 0} has length ${word1} beyond its extent ${extent}`, (w + 1) << 2, word1);
      this.#read = (pos + RECORD_HEADER + extent) | 0;
      if (pad) continue;
      this.#messages++;
      this.#bytes += word1;
      this.#at = HEADER_SIZE + index + RECORD_HEADER;
      this.#length = word1;
      return this.#at;
    }
  }

  // #next() found nothing to hand out: no view is held (every caller released the last
  // one first), so the room of what it skipped (padding, cancelled reservations) goes
  // back too, and producers must see all the room there is, whoever waits. Until then
  // a producer waiting for that room and this consumer waiting for a message would
  // wait on each other.
  #caughtUp(): void {
    if (this.#holding) return;
    this.#released = this.#read;
    this.#publish();
  }

  // Tells readers when this consumer, caught up, last waited after new messages
  // (CAUGHT_UP_AT: the time of the last message, to within the spin before a sleep or a
  // slice of a spinning wait). Called on those slow paths only: no clock per message.
  #stampCaughtUp(): void {
    if (this.#stamped === this.#messages || this.#published !== this.#read) return;
    this.#stamped = this.#messages;
    this.#f64[CAUGHT_UP_AT] = Date.now();
    this.#f64[CAUGHT_UP_MESSAGES] = this.#messages;
  }

  // #next() for the calls that never wait (tryReceive, drain) and for an event-loop
  // receive's first look: when it stops at a reservation, a look, at most every
  // SLICE_MS, at whether its owner died, to skip the record if so. A wait does that in
  // its peer checks, but only after a sleep; a consumer that only polls would otherwise
  // stop there for good.
  #nextPolling(): number {
    if (this.#next() >= 0) return this.#at;
    if (this.#blockedBy < 0) return -1;
    const now = performance.now();
    if (now - this.#lastSkipCheck < SLICE_MS) return -1;
    this.#lastSkipCheck = now;
    this.#skipAbandoned();
    return this.#blockedBy < 0 ? this.#next() : -1;
  }

  // The extent of the written record whose header is at Int32 index w, checked: the
  // flags known, inside the data area, and ending at most one ring past what this
  // consumer has released (so it never reads room it has not given back).
  #extent(w: number, index: number, pos: number): number {
    const word0 = this.#i32[w];
    const extent = word0 & ~RECORD_FLAGS;
    if (word0 < 0 || (word0 & (RECORD_FLAGS & ~PAD)) !== WRITTEN || index + RECORD_HEADER + extent > this.#capacity || ((pos - this.#released) >>> 0) + RECORD_HEADER + extent > this.#capacity) {
      throw this.#core.corrupt(`a record at ${pos >>> 0} has header 0x${(word0 >>> 0).toString(16)}`, w << 2, word0);
    }
    return extent;
  }

  // The record we stopped at belongs to a producer that died before committing it:
  // skip it (its extent was written before it was published).
  #skipAbandoned(): void {
    const tag = this.#blockedBy;
    if (tag < 0 || this.#core.peers.producerAlive(tagSlot(tag), tagGeneration(tag))) return;
    const pos = this.#read;
    const index = pos & this.#mask;
    const w = (HEADER_SIZE + index) >> 2;
    if (Atomics.load(this.#i32, w + 1) !== -tag - 1) return; // committed meanwhile
    this.#read = (pos + RECORD_HEADER + this.#extent(w, index, pos)) | 0;
    this.#blockedBy = -1;
  }

  // One plan for every wait of this receiver (they come one at a time): made per wait,
  // its closures would be garbage per message on the event loop.
  #plan(deadline: number): WaitPlan<true> {
    this.#f64[WAITS]++; // only the consumer writes it
    const plan = (this.#waitPlan ??= this.#makePlan());
    plan.deadline = deadline;
    return plan;
  }

  #waitPlan: WaitPlan<true> | null = null;
  // What the death watch does, kept while the bell stays as it is (re-armed before every sleep).
  #watchTarget: WatchTarget | null = null;

  #makePlan(): WaitPlan<true> {
    return {
      attempt: () => {
        // Closed while waiting (the memory now reads as zeros): say so, not "corrupt".
        if (this.#closed || this.#core.closed) throw this.#core.closedError();
        if (this.#found) {
          this.#found = false;
          return true;
        }
        return this.#next() >= 0 ? true : undefined;
      },
      checkPeer: () => {
        if (this.#closed || this.#core.closed) throw this.#core.closedError();
        this.#stampCaughtUp();
        if (this.#blockedBy >= 0) return this.#skipAbandoned();
        if (!this.#endWhenProducersGone || !this.#core.peers.producersGone()) return;
        // The last producer may have committed a message since the last attempt: this
        // look takes it (#read moves past it), so the next attempt must hand it out.
        if (this.#next() >= 0) this.#found = true;
        else throw new PeerGoneError(this.#core.name, 'producers', 'every producer has gone and the ring is empty');
      },
      sleeping: () => this.#stampCaughtUp(),
      watchPeer: () => {
        // Waiting across restarts: with no producer alive there is no death to hear of,
        // and the next producer's attach wakes this sleep (its flag is raised by now).
        // A live watch says a producer is (system calls per sleep, and their garbage, spared).
        if (!this.#endWhenProducersGone && this.#blockedBy < 0 && !this.#watch?.live && this.#core.peers.liveProducers() === 0) return true;
        // Stopped at a reservation whose owner is gone: its slot may hold a new producer
        // by now, whose lock a watch would wait on for ever. A short sleep, then the peer
        // check after it skips the record.
        const blocked = this.#blockedBy;
        if (blocked >= 0 && !this.#core.peers.producerAlive(tagSlot(blocked), tagGeneration(blocked))) return false;
        const range = this.#core.peers.producersToWatch(this.#blockedBy >= 0 ? tagSlot(this.#blockedBy) : -1);
        if (range === null) return true;
        const s = this.#core.dataSleeper;
        const bellFd = s.bell !== null && !s.bell.closed ? s.bell.fd : -1;
        if (this.#watchTarget?.bellFd !== bellFd) this.#watchTarget = { handle: s.handle, byteOffset: s.seq << 2, flagOffset: s.flag << 2, from: 0, to: 0, bellFd };
        this.#watch ??= this.#core.peers.watch();
        return this.#watch.arm(range[0], range[1], this.#watchTarget);
      },
      sleeper: this.#core.dataSleeper,
      strategy: this.#core.wait,
      budget: this.#budget,
      deadline: Infinity,
      object: this.#core.name,
      what: 'a message',
    };
  }

  /**
   * A plain object for a Worker, where fromHandle() opens the channel again and takes
   * its consumer (close this one first: a channel has one); that receiver closes the channel with it (docs/api.md, "Workers").
   */
  handle(): ReceiverHandle {
    return { podshm: 'Receiver', ...channelFields(this.#core), producersGone: this.#endWhenProducersGone ? 'end' : 'wait', ...codecOfHandle(this.#codec, 'receiver') };
  }

  // Set by fromHandle(): the Channel opened for this endpoint alone.
  #owner: { close(): void } | null = null;

  /** @internal */
  _closeWith(channel: { close(): void }): void {
    this.#owner = channel;
  }

  /**
   * This receiver as a Node Readable of bytes (a copy of each message), for
   * stream.pipeline(); the stream owns the receiver and closes it when it ends or is
   * destroyed. It ends when every producer has gone only with producersGone: 'end'
   * (docs/api.md, "Streams").
   */
  readable(opts?: StreamOptions): Readable {
    bytesOnly(this.#codec, 'readable()');
    return receiverReadable(this as Receiver, opts);
  }
}

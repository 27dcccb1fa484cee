// A subscriber of a Topic: its own cursor over the one shared ring. It learns of new
// messages from the records themselves (as a channel's consumer does) and publishes its
// cursor lazily: every quarter ring, whenever it has caught up, or at once when a
// publisher waits for room. After each message it reads TAIL: a publisher moves TAIL
// before it writes into the room it frees, so a subscriber that TAIL passed knows that
// what it just read may have been overwritten, and never hands it out.
import { AbortError, SystemError, argType } from '../core/errors';
import { SubscriberDroppedError } from './errors';
import type { TopicCore } from './core';
import { CANCELLED, H, RECORD_FLAGS, RECORD_HEADER, S, SUB_ATTACHED, SUB_DROPPED, SUB_FREE, WRITTEN, subscriberOffset, tagParticipant } from './layout';
import { PLAIN_LOADS_ORDERED, wake, waitAsync, waitSync, type WaitPlan } from '../channel/wait';
import { SLICE_MS } from '../wait/loop';
import { SpinBudget } from '../wait/spin';
import { native } from '../addon/native';
import { abortSignal, deadlineOf, timeoutMs } from '../core/timeout';
import type { Presence } from '../liveness/presence';
import type { PeerWatch } from '../liveness/watch';
import { integer, options } from '../core/validate';
import { decodeWith, type BoundCodec } from '../core/codec';

export interface ReceiveSyncOptions {
  /** Milliseconds to wait for a message; ETIMEDOUT after. Default: no limit. */
  timeout?: number;
}

export interface ReceiveOptions extends ReceiveSyncOptions {
  signal?: AbortSignal;
}

/** drain()'s callback: the message is bytes[offset, offset + length), valid during the call only. */
export type MessageHandler = (bytes: Uint8Array, offset: number, length: number) => void;

const SYNC_KEYS = ['timeout'] as const;
const ASYNC_KEYS = ['timeout', 'signal'] as const;
const TAIL = H.TAIL >> 2;
const SPACE_SLEEPING = H.SPACE_SLEEPING >> 2;
const ROOM_WANTED = H.ROOM_WANTED >> 2;
// This module's own copy of the record header's size (in the compiled CommonJS an
// imported constant is a property load on every use).
const HEADER = RECORD_HEADER;
// Word 0 of a message record, masked with this: WRITTEN alone (no padding, no cancel, a
// 16-aligned extent, not negative).
const COMMON_MASK = 15 | (1 << 31);
/** How long a subscriber waits for a publisher to let go of the lock at attach (a few stores, normally). */
const ATTACH_LOCK_MS = 1000;

/** A subscriber: `T` is what receive() gives, bytes unless it has a codec. */
export class Subscriber<T = Uint8Array> implements Disposable, AsyncIterable<T> {
  readonly #core: TopicCore;
  readonly #codec: BoundCodec | null;
  readonly #i32: Int32Array;
  readonly #u8: Uint8Array;
  readonly #f64: Float64Array;
  readonly #mask: number;
  readonly #capacity: number;
  /** Byte offset of the data area. */
  readonly #data: number;
  readonly #publishEvery: number;
  readonly #presence: Presence;
  readonly #state: number;
  readonly #cursor: number;
  readonly #counts: number;
  readonly #budget = new SpinBudget();
  readonly #checkCopies: boolean;
  /** Position of the next record to read. */
  #read: number;
  /** End of what has been released. */
  #released: number;
  /** The cursor as last published. */
  #published: number;
  /** The sequence number of the next message. */
  #expected: number;
  /** TAIL passed this subscriber ('overwrite'): the next message tells how many were lost. */
  #resync = false;
  /** The tag of the publisher whose reservation #next() stopped at, else -1. */
  #blockedBy = -1;
  #at = 0;
  #length = 0;
  #copy: Uint8Array | null = null;
  #received = 0;
  #lost = 0;
  #pending = false;
  #closed = false;
  #lastSkipCheck = -Infinity;
  #watch: PeerWatch | null = null;

  /** @internal Use Topic.subscriber(). */
  constructor(core: TopicCore, history: number, codec: BoundCodec | null) {
    this.#core = core;
    this.#codec = codec;
    this.#i32 = core.i32;
    this.#u8 = core.u8;
    this.#f64 = core.f64;
    this.#mask = core.mask;
    this.#capacity = core.capacity;
    this.#data = core.data;
    this.#publishEvery = core.capacity >>> 2;
    this.#checkCopies = core.policy !== 'block';
    const { presence, tag } = core.claimSubscriber();
    this.#presence = presence;
    const slot = presence.slot;
    this.#state = subscriberOffset(slot, S.STATE) >> 2;
    this.#cursor = subscriberOffset(slot, S.CURSOR) >> 2;
    this.#counts = subscriberOffset(slot, S.RECEIVED_MESSAGES) >> 3;
    try {
      const start = this.#attach(tag, history);
      this.#read = this.#released = this.#published = start.pos;
      this.#expected = start.seq;
    } catch (err) {
      presence.release();
      throw err;
    }
  }

  /** Messages received so far. */
  get received(): number {
    return this.#received;
  }

  /**
   * Messages this subscriber never saw because an 'overwrite' publisher overwrote them
   * first (always 0 under the other policies).
   */
  get lost(): number {
    return this.#lost;
  }

  get closed(): boolean {
    return this.#closed || this.#core.closed;
  }

  /**
   * The next message, as a copy that is the caller's to keep, waiting on the event loop
   * until one comes (publishers may come and go meanwhile). Rejects with ETIMEDOUT after
   * `timeout` ms, AbortError (cause: the signal's reason) on abort, and
   * SubscriberDroppedError once a 'disconnect' publisher has dropped this subscriber.
   */
  receive(opts?: ReceiveOptions): Promise<T> {
    return this.#receiveAsync(opts, true).then(() => this.#takeCopy());
  }

  /** receive(), blocking this thread while it waits. */
  receiveSync(opts?: ReceiveSyncOptions): T {
    this.#receiveSync(opts, true);
    return this.#takeCopy();
  }

  /** The next message (a copy) if one is ready now, else null. */
  tryReceive(): T | null {
    this.#checkIdle();
    this.#release();
    return this.#nextPolling(true) < 0 ? null : this.#takeCopy();
  }

  /**
   * The next message as a view into the ring (no copy), valid until the next receive or
   * release(). Only under the 'block' policy: under the others a publisher may overwrite
   * a message while it is being read, and receive() copies and checks it.
   */
  receiveView(opts?: ReceiveOptions): Promise<Uint8Array> {
    try {
      this.#checkViews();
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#receiveAsync(opts, false).then(() => this.#view());
  }

  /** receiveView(), blocking this thread while it waits. */
  receiveViewSync(opts?: ReceiveSyncOptions): Uint8Array {
    this.#checkViews();
    this.#receiveSync(opts, false);
    return this.#view();
  }

  /** receiveView() if a message is ready now, else null. */
  tryReceiveView(): Uint8Array | null {
    this.#checkViews();
    this.#checkIdle();
    this.#release();
    return this.#nextPolling(false) < 0 ? null : this.#view();
  }

  /**
   * Calls `handler(bytes, offset, length)` for each message ready now (at most `max`),
   * without waiting or allocating: the message is bytes[offset, offset + length), valid
   * during the call. Returns how many it handled. Only under the 'block' policy.
   */
  drain(handler: MessageHandler, max = Infinity): number {
    if (typeof handler !== 'function') throw argType('handler', 'a function', handler);
    if (max !== Infinity) integer('max', max, 0);
    this.#checkViews();
    this.#checkIdle();
    this.#release();
    const u8 = this.#u8;
    let n = 0;
    try {
      while (n < max && this.#nextPolling(false) >= 0) {
        n++;
        handler(u8, this.#at, this.#length);
      }
    } finally {
      this.#release();
    }
    return n;
  }

  /** Gives the room of the last view back (the view must not be used after). */
  release(): void {
    this.#release();
  }

  /** Every message, as owned copies (or decoded values), until this subscriber is closed. */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      let msg: T;
      try {
        msg = await this.receive();
      } catch (err) {
        if (this.closed && (err as SystemError).code === 'EBADF') return;
        throw err;
      }
      yield msg;
    }
  }

  /** Detaches: publishers stop keeping room for this subscriber. A pending receive rejects with EBADF (a `for await` ends). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#watch?.close();
    if (this.#core.closed) return this.#presence.release();
    Atomics.store(this.#i32, this.#state, SUB_FREE);
    this.#presence.release();
    wake(this.#core.spaceSleeper);
    if (this.#pending) {
      // Its sleep shares the word of every subscriber: a bump ends it (the others look again and sleep on).
      const s = this.#core.dataSleeper;
      Atomics.add(this.#i32, s.seq, 1);
      native.futex.wake(s.handle, s.seq << 2, 0x7fffffff);
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }

  // Under the lock: where to start, and the slot attached there. A live holder keeps
  // the lock for a few stores; one that does not let go (stopped) is EBUSY.
  #attach(tag: number, history: number): { pos: number; seq: number } {
    const core = this.#core;
    const end = performance.now() + ATTACH_LOCK_MS;
    const nap = new Int32Array(new SharedArrayBuffer(4));
    while (!core.lock(tag)) {
      if (performance.now() > end) throw new SystemError('EBUSY', 'topic', core.name, 'the topic lock is held by a live process that does not let it go');
      Atomics.wait(nap, 0, 0, 1);
    }
    try {
      const start = core.historyStart(history);
      this.#f64[this.#counts] = 0;
      this.#f64[this.#counts + 1] = 0;
      Atomics.store(this.#i32, this.#cursor, start.pos);
      Atomics.store(this.#i32, this.#state, SUB_ATTACHED);
      return start;
    } finally {
      core.unlock(tag);
    }
  }

  #checkViews(): void {
    if (this.#core.policy !== 'block') {
      throw new SystemError('EINVAL', 'topic', this.#core.name, `zero-copy receives need the 'block' policy: under '${this.#core.policy}' a publisher may overwrite a message while it is read (receive() copies and checks it)`);
    }
  }

  // One receive at a time: a pending one owns #at, #length and #copy until it settles.
  #checkIdle(): void {
    if (this.#pending) throw new SystemError('EBUSY', 'receive', this.#core.name, 'a receive of this subscriber is pending: one receive at a time');
  }

  // The copy #next() made and checked; with a codec, its value (a message that does not
  // decode is taken all the same: the next receive gets the next one).
  #takeCopy(): T {
    const c = this.#copy!;
    this.#copy = null;
    this.#release();
    return (this.#codec === null ? c : decodeWith(this.#codec, c)) as T;
  }

  #view(): Uint8Array {
    return new Uint8Array(this.#core.buffer, this.#at, this.#length);
  }

  #receiveSync(opts: ReceiveSyncOptions | undefined, copy: boolean): void {
    const deadline = deadlineOf(timeoutMs(options<ReceiveSyncOptions>(opts, SYNC_KEYS).timeout));
    this.#checkIdle();
    this.#release();
    if (this.#next(copy) < 0) waitSync(this.#plan(deadline, copy));
  }

  #receiveAsync(opts: ReceiveOptions | undefined, copy: boolean): Promise<void> {
    try {
      const o = options<ReceiveOptions>(opts, ASYNC_KEYS);
      const deadline = deadlineOf(timeoutMs(o.timeout));
      const signal = abortSignal(o.signal);
      if (signal?.aborted) throw new AbortError(signal.reason);
      this.#checkIdle();
      this.#release();
      if (this.#next(copy) >= 0) return Promise.resolve();
      this.#pending = true;
      return waitAsync(this.#plan(deadline, copy), signal).then(this.#waited, this.#waitFailed);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  // The ends of a wait on the event loop, made once (per wait, they would be garbage per message).
  readonly #waited = (): void => {
    this.#pending = false;
  };
  readonly #waitFailed = (err: unknown): never => {
    this.#pending = false;
    throw err;
  };

  #checkOpen(): void {
    if (this.#closed || this.#core.closed) throw this.#core.closedError();
  }

  #release(): void {
    this.#checkOpen();
    this.#released = this.#read;
    // Plain reads: a publisher re-reads the cursors after raising either word, and a
    // stale zero costs it one more try (or one sleep slice) at worst.
    if (((this.#released - this.#published) >>> 0) >= this.#publishEvery || this.#i32[SPACE_SLEEPING] !== 0 || this.#i32[ROOM_WANTED] !== 0) {
      this.#publish();
    }
  }

  #publish(): void {
    if (this.#published === this.#released) return;
    this.#published = this.#released;
    this.#f64[this.#counts] = this.#received;
    this.#f64[this.#counts + 1] = this.#lost;
    Atomics.store(this.#i32, this.#cursor, this.#released);
    wake(this.#core.spaceSleeper);
  }

  /** Whether a publisher has moved TAIL past `pos` (and may be writing there). */
  #passed(pos: number): boolean {
    return ((Atomics.load(this.#i32, TAIL) - pos) | 0) > 0;
  }

  // Finds the next message: sets #at and #length (and #copy when `copy`) and returns
  // #at, or -1 if there is none yet. A record TAIL has passed is never trusted: its
  // header may be half a new record's, so it is checked against TAIL before it is
  // called corrupt, and a copy is checked after it is taken.
  //
  // The common record, a committed message of this lap that comes next, is checked here
  // in one test of its four words, without a try; anything else (nothing yet, padding,
  // a reservation, a subscriber that must resynchronise, or a bad or overwritten
  // record) goes through #inspect(), which tells them apart.
  #next(copy: boolean): number {
    const i32 = this.#i32;
    const capacity = this.#capacity;
    for (;;) {
      const pos = this.#read;
      const index = pos & this.#mask;
      const w = (this.#data + index) >> 2;
      // Read as TopicCore.record() reads them: word 1 only once word 0 is seen written
      // (read before, it could be another lap's), plain where the hardware orders it
      // after that load (lib/channel/wait.ts), and a reservation's again with
      // Atomics.load (its commit comes later, after the payload); then the flags again,
      // as a cancel sets them before it clears word 1. The words read are what
      // #inspect() checks too: a record being written is read once per look.
      let word0 = Atomics.load(i32, w);
      let word1 = -1;
      if (word0 !== 0) {
        word1 = PLAIN_LOADS_ORDERED ? i32[w + 1] : Atomics.load(i32, w + 1);
        if (word1 < 0) word1 = Atomics.load(i32, w + 1);
        if (word1 >= 0) word0 = i32[w];
      }
      const extent = word0 & ~RECORD_FLAGS;
      let length: number;
      let end: number;
      let seq = this.#expected;
      if (
        (word0 & COMMON_MASK) === WRITTEN &&
        word1 >= 0 &&
        word1 <= extent &&
        index + HEADER + extent <= capacity &&
        ((pos - this.#released) >>> 0) + HEADER + extent <= capacity &&
        i32[w + 2] === pos &&
        i32[w + 3] === this.#expected &&
        !this.#resync
      ) {
        length = word1;
        end = (pos + HEADER + extent) | 0;
      } else {
        const found = this.#inspect(pos, word0, word1);
        if (found < 0) return -1;
        if (found === 0) continue;
        const rec = this.#core.rec;
        length = rec.word1;
        end = (pos + HEADER + rec.extent) | 0;
        seq = rec.seq;
      }
      const at = this.#data + index + HEADER;
      if (copy) {
        this.#copy = this.#u8.slice(at, at + length);
        // Under 'block' no publisher writes where a live subscriber has yet to read.
        if (this.#checkCopies && this.#passed(pos)) {
          this.#overrun();
          continue;
        }
      }
      if (this.#resync) {
        this.#lost += (seq - this.#expected) >>> 0;
        this.#resync = false;
      }
      this.#expected = (seq + 1) | 0;
      this.#read = end;
      this.#received++;
      this.#at = at;
      this.#length = length;
      return at;
    }
  }

  // The record at `pos` (its words 0 and 1 as read) when it is not a plain next message:
  // 1 if it is one after all (in core.rec), 0 to look again at #read (padding or a
  // cancelled reservation skipped, or TAIL passed this subscriber), -1 if there is none yet.
  #inspect(pos: number, word0: number, word1: number): number {
    const core = this.#core;
    const rec = core.rec;
    let written: boolean;
    try {
      written = word0 !== 0 && core.check(pos, word0, word1);
    } catch (err) {
      if (!this.#passed(pos)) throw err;
      this.#overrun();
      return 0;
    }
    if (!written || rec.word1 < 0) {
      if (this.#passed(pos)) {
        this.#overrun();
        return 0;
      }
      this.#blockedBy = written ? -rec.word1 - 1 : -1;
      this.#caughtUp();
      return -1;
    }
    if (((pos - this.#released) >>> 0) + RECORD_HEADER + rec.extent > core.capacity) {
      throw core.corrupt(`the record at ${pos >>> 0} ends more than a ring past this subscriber's cursor ${this.#released >>> 0}`, core.data + (pos & this.#mask), rec.word0);
    }
    if (rec.pad) {
      // A cancelled reservation used up its sequence number; a padding record did not.
      if ((rec.word0 & CANCELLED) !== 0 && !this.#resync) this.#expected = (rec.seq + 1) | 0;
      this.#read = (pos + RECORD_HEADER + rec.extent) | 0;
      return 0;
    }
    if (!this.#resync && rec.seq !== this.#expected) {
      if (this.#passed(pos)) {
        this.#overrun();
        return 0;
      }
      throw core.corrupt(`the record at ${pos >>> 0} carries message ${rec.seq >>> 0} where ${this.#expected >>> 0} comes next`, core.data + (pos & this.#mask) + 12, rec.seq);
    }
    return 1;
  }

  // TAIL passed this subscriber. Under 'overwrite' it goes on from TAIL, and the next
  // message's sequence number tells how many it lost; under 'disconnect' it was dropped.
  #overrun(): void {
    this.#copy = null;
    if (Atomics.load(this.#i32, this.#state) === SUB_DROPPED) this.#drop();
    const core = this.#core;
    if (core.policy !== 'overwrite') {
      throw core.corrupt(`tail ${Atomics.load(this.#i32, TAIL) >>> 0} passed the cursor ${this.#read >>> 0} of a subscriber that is still attached`, H.TAIL, Atomics.load(this.#i32, TAIL));
    }
    const tail = Atomics.load(this.#i32, TAIL);
    if ((tail & 15) !== 0) throw core.corrupt(`tail ${tail >>> 0} is not a multiple of 16`, H.TAIL, tail);
    this.#read = this.#released = tail;
    this.#resync = true;
  }

  #drop(): never {
    const received = this.#received;
    this.#closed = true;
    this.#watch?.close();
    this.#presence.release();
    throw new SubscriberDroppedError(this.#core.name, received);
  }

  // Nothing to hand out: the room of what was skipped goes back too, and a dropped
  // subscriber learns it here even if no publisher has overwritten its room yet.
  #caughtUp(): void {
    if (this.#core.policy === 'disconnect' && Atomics.load(this.#i32, this.#state) === SUB_DROPPED) this.#drop();
    this.#released = this.#read;
    this.#publish();
  }

  // #next() for the calls that never wait: at a reservation, a look at most every
  // SLICE_MS at whether its owner died, to skip it if so.
  #nextPolling(copy: boolean): number {
    if (this.#next(copy) >= 0) return this.#at;
    if (this.#blockedBy < 0) return -1;
    const now = performance.now();
    if (now - this.#lastSkipCheck < SLICE_MS) return -1;
    this.#lastSkipCheck = now;
    this.#skipAbandoned();
    return this.#blockedBy < 0 ? this.#next(copy) : -1;
  }

  // The reservation #next() stopped at belongs to a publisher that died before
  // committing it: skip it (its sequence number is used up, not lost).
  #skipAbandoned(): void {
    const tag = this.#blockedBy;
    if (tag < 0 || this.#core.alive(tag)) return;
    const core = this.#core;
    const pos = this.#read;
    // A dead owner's reservation may be overwritten meanwhile: a record TAIL has passed
    // is left to the next #next(), which goes on from TAIL.
    let written: boolean;
    try {
      written = core.record(pos);
    } catch (err) {
      if (this.#passed(pos)) return;
      throw err;
    }
    if (!written || core.rec.word1 !== -tag - 1 || this.#passed(pos)) return; // committed, cancelled or passed meanwhile
    this.#expected = (core.rec.seq + 1) | 0;
    this.#read = (pos + RECORD_HEADER + core.rec.extent) | 0;
    this.#blockedBy = -1;
  }

  // One plan for every wait of this subscriber (they come one at a time): made per wait,
  // its closures would be garbage per message on the event loop.
  #plan(deadline: number, copy: boolean): WaitPlan<true> {
    const plan = (this.#waitPlan ??= this.#makePlan());
    plan.deadline = deadline;
    this.#waitCopies = copy;
    return plan;
  }

  #waitPlan: WaitPlan<true> | null = null;
  /** Whether the message the current wait finds is copied out (receive) or viewed. */
  #waitCopies = false;

  #makePlan(): WaitPlan<true> {
    const core = this.#core;
    return {
      attempt: () => {
        this.#checkOpen();
        return this.#next(this.#waitCopies) >= 0 ? true : undefined;
      },
      checkPeer: () => {
        this.#checkOpen();
        this.#skipAbandoned();
      },
      watchPeer: () => {
        if (this.#blockedBy < 0) return true;
        // Stopped at a reservation whose owner is gone: its slot may hold a new publisher
        // by now, whose lock a watch would wait on for ever. A short sleep, then the peer
        // check after it skips the record.
        if (!core.alive(this.#blockedBy)) return false;
        const s = core.dataSleeper;
        this.#watch ??= core.watch();
        return this.#watch.arm(core.livenessOffset(tagParticipant(this.#blockedBy)), 1, { handle: s.handle, byteOffset: s.seq << 2, flagOffset: s.flag << 2, from: 0, to: 0, bellFd: -1 });
      },
      sleeper: core.dataSleeper,
      strategy: core.wait,
      budget: this.#budget,
      deadline: Infinity,
      object: core.name,
      what: 'a message',
    };
  }
}

// Channel: a named ring buffer in one shared memory segment carrying variable-length
// messages from one or many producers to one consumer, across processes and the
// containers of a pod. docs/channel.md describes the layout and the protocol.
import { Bell, removeBell } from './bell';
import { awaitMagic } from '../core/magic';
import { SystemError } from '../core/errors';
import { ChannelCore } from './core';
import {
  H,
  HEADER_SIZE,
  MAX_CAPACITY,
  MAX_PRODUCERS,
  MIN_CAPACITY,
  S,
  SLOT_SIZE,
  WAIT_STRATEGIES,
  initHeader,
  isValidCapacity,
  readHeader,
  type WaitStrategy,
} from './layout';
import { Peers } from './peers';
import { Receiver } from './receiver';
import { Sender } from './sender';
import { argType, argValue } from '../core/errors';
import { DEFAULT_MODE, objectFile, SharedMemory } from '../shm/shared_memory';
import { posixName } from '../core/names';
import { boolean, fileMode, options, string } from '../core/validate';
import { openWhenCreated, WAIT_KEYS, type WaitForCreationOptions } from '../core/created';
import * as path from 'node:path';
import type { ReceiverOptions } from './receiver';
import type { SenderOptions } from './sender';
import { resolveCodec, type CodecOption } from '../core/codec';
import { fileFields, refuseClone, revivable } from '../core/handle';
import { channelFields, type ChannelHandle } from './handle';

export { Sender, Reservation, type SendOptions, type SendSyncOptions, type SenderOptions } from './sender';
export { Receiver, type ReceiveOptions, type ReceiveSyncOptions, type ReceiverOptions, type MessageHandler } from './receiver';
export type { WaitStrategy } from './layout';
export type { ChannelHandle, SenderHandle, ReceiverHandle } from './handle';
export type { StreamOptions } from './stream';

export interface ChannelCreateOptions {
  /** Bytes of the ring: a power of two from 4 KiB to 1 GiB. Default 1 MiB. The largest message is capacity / 2 - 8. */
  capacity?: number;
  /** 'single' (default): one producer at a time, the fastest. 'multi': up to 48 at once. */
  producers?: 'single' | 'multi';
  /** How a side waits for the other: 'adaptive' (default), 'spin' or 'block'. Every participant uses the creator's choice. */
  wait?: WaitStrategy;
  /** Permission bits of the segment. Default 0o600. */
  mode?: number;
  /** Directory of the tmpfs holding the segment. Default /dev/shm. */
  dir?: string;
  /**
   * Fail with EEXIST if the name is taken (default). With false, an existing channel is
   * opened instead, if its capacity, producers and wait are the ones asked for (EINVAL if not).
   */
  exclusive?: boolean;
  /** With exclusive: false, open a channel owned by another user (not root) instead of refusing it with EPERM. Default false. */
  allowForeignOwner?: boolean;
}

export interface ChannelOpenOptions extends WaitForCreationOptions {
  /** Directory of the tmpfs holding the segment. Default /dev/shm. */
  dir?: string;
  /** Open a channel owned by another user (not root) instead of refusing it with EPERM. Default false. */
  allowForeignOwner?: boolean;
}

const CREATE_KEYS = ['capacity', 'producers', 'wait', 'mode', 'dir', 'exclusive', 'allowForeignOwner'] as const;
const OPEN_KEYS = ['dir', 'allowForeignOwner', ...WAIT_KEYS] as const;

export interface ChannelStats {
  capacity: number;
  /** Bytes in the ring not yet released by the consumer (records, headers and padding). */
  usedBytes: number;
  /** Messages sent but not yet received (as of the consumer's last tail publication). */
  depth: number;
  messagesSent: number;
  bytesSent: number;
  messagesReceived: number;
  bytesReceived: number;
  producersAlive: number;
  consumerAlive: boolean;
}

const DEFAULT_CAPACITY = 1 << 20;

let consumerExtraOf: (channel: Channel) => Float64Array;

/** The header words the consumer's layer keeps for readers (H.CONSUMER_EXTRA): for lib/service, not the public API. */
export function consumerExtra(channel: Channel): Float64Array {
  return consumerExtraOf(channel);
}

/** A counter read from shared memory: anything but a finite count (a peer scribbled there) reads 0. */
const counter = (v: number): number => (Number.isFinite(v) && v > 0 ? v : 0);

export class Channel implements Disposable {
  /** The segment's name, with its leading slash. */
  readonly name: string;
  readonly capacity: number;
  readonly producers: 'single' | 'multi';
  readonly wait: WaitStrategy;
  readonly #shm: SharedMemory;
  readonly #core: ChannelCore;
  readonly #senders = new Set<Sender<unknown>>();
  #receiver: Receiver<unknown> | null = null;

  static {
    consumerExtraOf = (channel) => new Float64Array(channel.#core.buffer, H.CONSUMER_EXTRA, 8);
  }

  private constructor(shm: SharedMemory, core: ChannelCore) {
    this.name = shm.name;
    this.capacity = core.capacity;
    this.producers = core.multi ? 'multi' : 'single';
    this.wait = core.wait;
    this.#shm = shm;
    this.#core = core;
    refuseClone(this, 'Channel');
  }

  /** Creates the channel's segment (EEXIST if the name is taken). */
  static create(name: string, opts?: ChannelCreateOptions): Channel {
    const o = options<ChannelCreateOptions>(opts, CREATE_KEYS);
    const capacity = o.capacity ?? DEFAULT_CAPACITY;
    if (typeof capacity !== 'number') throw argType('capacity', 'of type number', capacity);
    if (!isValidCapacity(capacity)) throw argValue('capacity', `must be a power of two from ${MIN_CAPACITY} to ${MAX_CAPACITY}`, capacity);
    const producers = o.producers ?? 'single';
    if (producers !== 'single' && producers !== 'multi') throw argValue('producers', "must be 'single' or 'multi'", producers);
    const wait = o.wait ?? 'adaptive';
    if (!WAIT_STRATEGIES.includes(wait)) throw argValue('wait', `must be one of ${WAIT_STRATEGIES.map((w) => `'${w}'`).join(', ')}`, wait);
    // Read once: a getter could otherwise give the segment and the bell different modes.
    const given = o.mode;
    const mode = given === undefined ? DEFAULT_MODE : fileMode(given);
    const exclusive = boolean('exclusive', o.exclusive, true);
    let shm: SharedMemory;
    try {
      shm = SharedMemory.create(name, HEADER_SIZE + capacity, { mode, dir: o.dir });
    } catch (err) {
      if (exclusive || !(err instanceof SystemError && err.code === 'EEXIST')) throw err;
      const existing = Channel.#open(name, { dir: o.dir, allowForeignOwner: o.allowForeignOwner });
      if (existing.capacity !== capacity || existing.producers !== producers || existing.wait !== wait) {
        existing.close();
        throw new SystemError('EINVAL', 'channel', existing.name, `exists with capacity ${existing.capacity}, producers '${existing.producers}', wait '${existing.wait}': not the ${capacity}, '${producers}', '${wait}' asked for`);
      }
      return existing;
    }
    let bell: Bell | null = null;
    try {
      const geometry = { capacity, multi: producers === 'multi', wait };
      // Made before initHeader() publishes the header, so every opener finds it.
      bell = Bell.make(shm.path, mode & 0o777);
      new Float64Array(shm.buffer, 0, HEADER_SIZE >> 3)[H.BELL_INODE >> 3] = bell?.inode ?? 0;
      initHeader(new Int32Array(shm.buffer, 0, HEADER_SIZE >> 2), geometry);
      return new Channel(shm, new ChannelCore(shm.name, shm.buffer, shm.mapping.handle, geometry, new Peers(shm.name, shm, new Int32Array(shm.buffer, 0, HEADER_SIZE >> 2)), bell));
    } catch (err) {
      shm.close();
      shm.unlink();
      if (bell !== null) {
        bell.close();
        removeBell(shm.path);
      }
      throw err;
    }
  }

  /**
   * Opens an existing channel; ChannelCorruptError if the segment does not hold a valid
   * channel header. With `wait: true`, resolves once another process has created it.
   */
  static open(name: string, opts: ChannelOpenOptions & { wait: true }): Promise<Channel>;
  static open(name: string, opts?: ChannelOpenOptions & { wait?: false }): Channel;
  static open(name: string, opts?: ChannelOpenOptions): Channel | Promise<Channel> {
    const o = options<ChannelOpenOptions>(opts, OPEN_KEYS);
    if (o.dir !== undefined) string('dir', o.dir);
    if (o.wait === true) {
      const existing = { dir: o.dir, allowForeignOwner: o.allowForeignOwner };
      return openWhenCreated(() => Channel.#open(name, existing), path.dirname(objectFile(posixName(name, 'shm_open'), o.dir)), { timeout: o.timeout, signal: o.signal }, 'shm_open', name);
    }
    return Channel.#open(name, o);
  }

  static #open(name: string, o: ChannelOpenOptions): Channel {
    const shm = SharedMemory.open(name, { dir: o.dir, allowForeignOwner: o.allowForeignOwner });
    try {
      const header = new Int32Array(shm.buffer, 0, Math.min(shm.size, HEADER_SIZE) >> 2);
      // Just named by a creator that has not published the header yet: wait a moment.
      if (header.length > 0) awaitMagic(header);
      const geometry = readHeader(header, shm.size, shm.name);
      const bell = Bell.open(shm.path, new Float64Array(shm.buffer, 0, HEADER_SIZE >> 3)[H.BELL_INODE >> 3]);
      return new Channel(shm, new ChannelCore(shm.name, shm.buffer, shm.mapping.handle, geometry, new Peers(shm.name, shm, header), bell));
    } catch (err) {
      shm.close();
      throw err;
    }
  }

  /** Removes a channel's name (and its bell); processes that have it open keep using it. */
  static unlink(name: string, opts?: { dir?: string }): void {
    const file = objectFile(posixName(name, 'shm_unlink'), options<{ dir: string }>(opts, ['dir']).dir);
    // The bell first: while the name still holds this channel, no new one can have
    // made a bell of its own under the bell's name.
    removeBell(file);
    SharedMemory.unlink(name, opts);
  }

  /** The largest message, in bytes: capacity / 2 - 8. */
  get maxMessageSize(): number {
    return this.#core.maxMessage;
  }

  get closed(): boolean {
    return this.#core.closed;
  }

  /**
   * A new producer (EBUSY if a single-producer channel already has a live one, or all 48
   * slots are taken); with a codec, it sends values of type T.
   */
  sender<T = unknown>(opts: SenderOptions & { codec: CodecOption }): Sender<T>;
  sender(opts?: SenderOptions): Sender;
  sender(opts?: SenderOptions): Sender<unknown> {
    const codec = resolveCodec(options<SenderOptions>(opts, ['codec']).codec);
    this.#checkOpen();
    for (const old of this.#senders) if (old.closed) this.#senders.delete(old);
    const s = new Sender<unknown>(this.#core, codec);
    this.#senders.add(s);
    return s;
  }

  /** The consumer (EBUSY if another one, here or in another process, is attached and alive); with a codec, it receives values of type T. */
  receiver<T = unknown>(opts: ReceiverOptions & { codec: CodecOption }): Receiver<T>;
  receiver(opts?: ReceiverOptions): Receiver;
  receiver(opts?: ReceiverOptions): Receiver<unknown> {
    const o = options<ReceiverOptions>(opts, ['producersGone', 'codec']);
    const producersGone = o.producersGone ?? 'wait';
    if (producersGone !== 'wait' && producersGone !== 'end') throw argValue('producersGone', "must be 'wait' or 'end'", producersGone);
    const codec = resolveCodec(o.codec);
    this.#checkOpen();
    if (this.#receiver !== null && !this.#receiver.closed) {
      throw new SystemError('EBUSY', 'channel', this.name, 'this channel already has a receiver here');
    }
    const rx = new Receiver<unknown>(this.#core, producersGone, codec);
    this.#receiver = rx;
    return rx;
  }

  /** Figures read from the header now, and who is alive (system calls: not for a hot loop). */
  stats(): ChannelStats {
    this.#checkOpen();
    const i32 = this.#core.i32;
    const f64 = new Float64Array(this.#core.buffer, 0, HEADER_SIZE >> 3);
    let messagesSent = 0;
    let bytesSent = 0;
    for (let slot = 0; slot < MAX_PRODUCERS; slot++) {
      const base = H.SLOTS + slot * SLOT_SIZE;
      messagesSent += counter(f64[(base + S.SENT_MESSAGES) >> 3]!);
      bytesSent += counter(f64[(base + S.SENT_BYTES) >> 3]!);
    }
    const messagesReceived = counter(f64[H.RECEIVED_MESSAGES >> 3]!);
    const usedBytes = (Atomics.load(i32, H.HEAD >> 2) - Atomics.load(i32, H.TAIL >> 2)) >>> 0;
    return {
      capacity: this.capacity,
      usedBytes: Math.min(usedBytes, this.capacity),
      depth: Math.max(0, messagesSent - messagesReceived),
      messagesSent,
      bytesSent,
      messagesReceived,
      bytesReceived: counter(f64[H.RECEIVED_BYTES >> 3]!),
      producersAlive: this.#core.peers.liveProducers(),
      consumerAlive: this.#core.peers.consumer() === 'alive',
    };
  }

  /** Closes every sender and the receiver made here, and detaches from the segment. */
  close(): void {
    if (this.#core.closed) return;
    for (const s of this.#senders) s.close();
    this.#receiver?.close();
    this.#core.peers.close();
    this.#core.bell?.close();
    this.#core.closed = true;
    this.#shm.close();
  }

  /**
   * Removes the channel's name (processes that have it open keep using it); ENOENT if
   * the name is gone or names another channel now, which is left alone.
   */
  unlink(): void {
    if (!this.#shm.named()) {
      throw new SystemError('ENOENT', 'shm_unlink', this.name, 'the name is gone or belongs to another channel now (this one was unlinked already)');
    }
    removeBell(this.#shm.path);
    this.#shm.unlink();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #checkOpen(): void {
    if (this.#core.closed) throw this.#core.closedError();
  }

  /**
   * A plain object naming this channel, to post to a Worker, where fromHandle() opens it
   * again (docs/api.md, "Workers"). ENOENT once the name is gone.
   */
  handle(): ChannelHandle {
    return { podshm: 'Channel', ...channelFields(this.#core) };
  }

  // Opens the very channel a handle names (ENOENT if its name names another now).
  static #fromHandle(h: Record<string, unknown>): Channel {
    const f = fileFields(h);
    const ch = Channel.#open(f.name, { dir: f.dir, allowForeignOwner: true });
    if (ch.#shm.fileId !== f.fileId) {
      ch.close();
      throw new SystemError('ENOENT', 'shm_open', ch.name, 'the name names another channel now: the one the handle was made for was unlinked');
    }
    return ch;
  }

  // An endpoint's handle opens a channel for that endpoint alone: it closes with it.
  static #endpoint<T extends Sender | Receiver>(h: Record<string, unknown>, take: (ch: Channel) => T, what: string): T {
    const ch = Channel.#fromHandle(h);
    try {
      const endpoint = take(ch);
      endpoint._closeWith(ch);
      return endpoint;
    } catch (err) {
      ch.close();
      if ((err as SystemError).code === 'EBUSY') throw new SystemError('EBUSY', 'channel', ch.name, `the channel already has a live ${what}: close the one the handle was made from before fromHandle()`);
      throw err;
    }
  }

  static {
    const keys = ['name', 'dir', 'fileId'];
    revivable('Channel', keys, (h) => Channel.#fromHandle(h));
    revivable('Sender', [...keys, 'codec'], (h) => Channel.#endpoint(h, (ch) => ch.sender({ codec: h.codec as CodecOption }), 'producer'));
    revivable('Receiver', [...keys, 'producersGone', 'codec'], (h) => Channel.#endpoint(h, (ch) => ch.receiver({ producersGone: h.producersGone as 'wait' | 'end', codec: h.codec as CodecOption }), 'consumer'));
  }
}

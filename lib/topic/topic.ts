// Topic: publish/subscribe over one shared-memory ring. Publishers write each message
// once; up to a fixed number of subscribers, in any processes or containers of the
// pod, read it through their own cursors. docs/topic.md describes the layout and the
// protocol.
import { awaitMagic } from '../core/magic';
import { SystemError, argType, argValue } from '../core/errors';
import { TopicCore } from './core';
import {
  H,
  MAX_CAPACITY,
  MAX_PUBLISHERS,
  MAX_SUBSCRIBERS,
  MIN_CAPACITY,
  P,
  POLICIES,
  S,
  SUB_ATTACHED,
  WAIT_STRATEGIES,
  headerSize,
  initHeader,
  isValidCapacity,
  publisherOffset,
  readHeader,
  subscriberOffset,
  type Policy,
  type PublisherMode,
  type WaitStrategy,
} from './layout';
import { Publisher, type PublisherOptions } from './publisher';
import { resolveCodec, type CodecOption } from '../core/codec';
import { Subscriber } from './subscriber';
import { DEFAULT_MODE, SharedMemory, objectFile } from '../shm/shared_memory';
import { openWhenCreated, WAIT_KEYS, type WaitForCreationOptions } from '../core/created';
import { posixName } from '../core/names';
import * as path from 'node:path';
import { boolean, fileMode, integer, options, string } from '../core/validate';

export { Publisher, Reservation, type PublishOptions, type PublishSyncOptions, type PublisherOptions } from './publisher';
export { Subscriber, type ReceiveOptions, type ReceiveSyncOptions, type MessageHandler } from './subscriber';
export type { Policy, PublisherMode } from './layout';

export interface TopicCreateOptions {
  /** Bytes of the ring: a power of two from 4 KiB to 1 GiB. Default 1 MiB. The largest message is capacity / 2 - 16. */
  capacity?: number;
  /** How many subscribers may be attached at once, 1 to 256. Default 8. */
  subscribers?: number;
  /** What a full ring does to publishers: 'block' (default), 'overwrite' or 'disconnect' (docs/topic.md). */
  policy?: Policy;
  /**
   * 'multi' (default): up to 48 publishers at once, each claim under the topic's lock.
   * 'single': one publisher at a time (a second is EBUSY), which publishes without the lock: the fastest.
   */
  publishers?: PublisherMode;
  /** How a side waits: 'adaptive' (default), 'spin' or 'block', as for a Channel. */
  wait?: WaitStrategy;
  /** Permission bits of the segment. Default 0o600. */
  mode?: number;
  /** Directory of the tmpfs holding the segment. Default /dev/shm. */
  dir?: string;
  /**
   * Fail with EEXIST if the name is taken (default). With false, an existing topic is
   * opened instead, if its capacity, subscribers, policy and publishers are the ones asked for (EINVAL if not).
   */
  exclusive?: boolean;
  /** With exclusive: false, open a topic owned by another user (not root) instead of refusing it with EPERM. Default false. */
  allowForeignOwner?: boolean;
}

export interface TopicOpenOptions extends WaitForCreationOptions {
  /** Directory of the tmpfs holding the segment. Default /dev/shm. */
  dir?: string;
  /** Open a topic owned by another user (not root) instead of refusing it with EPERM. Default false. */
  allowForeignOwner?: boolean;
}

export interface SubscribeOptions {
  /** How many of the newest messages still in the ring to receive first. Default 0: only messages published from now on. */
  history?: number;
  /**
   * Receives values through this codec (docs/api.md, "Codecs"): receive(), its Sync and
   * try forms and for await decode; the view forms and drain() still give bytes.
   * Default: none, messages are bytes.
   */
  codec?: CodecOption;
}

export interface SubscriberStats {
  slot: number;
  /** Bytes between this subscriber's published cursor and the head. */
  lagBytes: number;
  messagesReceived: number;
  messagesLost: number;
}

export interface TopicStats {
  capacity: number;
  policy: Policy;
  /** Bytes between the oldest message still in the ring and the head. */
  retainedBytes: number;
  messagesPublished: number;
  publishersAlive: number;
  subscribers: SubscriberStats[];
}

const CREATE_KEYS = ['capacity', 'subscribers', 'policy', 'publishers', 'wait', 'mode', 'dir', 'exclusive', 'allowForeignOwner'] as const;
const OPEN_KEYS = ['dir', 'allowForeignOwner', ...WAIT_KEYS] as const;
const SUBSCRIBE_KEYS = ['history', 'codec'] as const;
const DEFAULT_CAPACITY = 1 << 20;
const DEFAULT_SUBSCRIBERS = 8;

/** A counter read from shared memory: anything but a finite count reads 0. */
const counter = (v: number): number => (Number.isFinite(v) && v > 0 ? v : 0);

export class Topic implements Disposable {
  /** The segment's name, with its leading slash. */
  readonly name: string;
  readonly capacity: number;
  readonly policy: Policy;
  /** 'single' or 'multi', as created. */
  readonly publishers: PublisherMode;
  readonly maxSubscribers: number;
  readonly #shm: SharedMemory;
  readonly #core: TopicCore;
  readonly #members = new Set<Publisher<unknown> | Subscriber<unknown>>();

  private constructor(shm: SharedMemory, core: TopicCore) {
    this.name = shm.name;
    this.capacity = core.capacity;
    this.policy = core.policy;
    this.publishers = core.publishers;
    this.maxSubscribers = core.maxSubscribers;
    this.#shm = shm;
    this.#core = core;
  }

  /** Creates the topic's segment (EEXIST if the name is taken). */
  static create(name: string, opts?: TopicCreateOptions): Topic {
    const o = options<TopicCreateOptions>(opts, CREATE_KEYS);
    const capacity = o.capacity ?? DEFAULT_CAPACITY;
    if (typeof capacity !== 'number') throw argType('capacity', 'of type number', capacity);
    if (!isValidCapacity(capacity)) throw argValue('capacity', `must be a power of two from ${MIN_CAPACITY} to ${MAX_CAPACITY}`, capacity);
    const maxSubscribers = integer('subscribers', o.subscribers ?? DEFAULT_SUBSCRIBERS, 1, MAX_SUBSCRIBERS);
    const policy = o.policy ?? 'block';
    if (!POLICIES.includes(policy)) throw argValue('policy', `must be one of ${POLICIES.map((p) => `'${p}'`).join(', ')}`, policy);
    const publishers = o.publishers ?? 'multi';
    if (publishers !== 'single' && publishers !== 'multi') throw argValue('publishers', "must be 'single' or 'multi'", publishers);
    const wait = o.wait ?? 'adaptive';
    if (!WAIT_STRATEGIES.includes(wait)) throw argValue('wait', `must be one of ${WAIT_STRATEGIES.map((w) => `'${w}'`).join(', ')}`, wait);
    const mode = o.mode === undefined ? DEFAULT_MODE : fileMode(o.mode);
    const geometry = { capacity, policy, publishers, maxSubscribers, wait, headerSize: headerSize(maxSubscribers) };
    const exclusive = boolean('exclusive', o.exclusive, true);
    let shm: SharedMemory;
    try {
      shm = SharedMemory.create(name, geometry.headerSize + capacity, { mode, dir: o.dir });
    } catch (err) {
      if (exclusive || !(err instanceof SystemError && err.code === 'EEXIST')) throw err;
      const existing = Topic.#open(name, { dir: o.dir, allowForeignOwner: o.allowForeignOwner });
      if (existing.capacity !== capacity || existing.maxSubscribers !== maxSubscribers || existing.policy !== policy || existing.publishers !== publishers) {
        existing.close();
        throw new SystemError(
          'EINVAL',
          'topic',
          existing.name,
          `exists with capacity ${existing.capacity}, ${existing.maxSubscribers} subscribers, policy '${existing.policy}', publishers '${existing.publishers}': not the ${capacity}, ${maxSubscribers}, '${policy}', '${publishers}' asked for`,
        );
      }
      return existing;
    }
    try {
      initHeader(new Int32Array(shm.buffer, 0, geometry.headerSize >> 2), geometry);
      return new Topic(shm, new TopicCore(shm.name, shm.buffer, shm.mapping.handle, geometry, shm));
    } catch (err) {
      shm.close();
      shm.unlink();
      throw err;
    }
  }

  /**
   * Opens an existing topic; TopicCorruptError if the segment does not hold a valid topic
   * header. With `wait: true`, resolves once another process has created it.
   */
  static open(name: string, opts: TopicOpenOptions & { wait: true }): Promise<Topic>;
  static open(name: string, opts?: TopicOpenOptions & { wait?: false }): Topic;
  static open(name: string, opts?: TopicOpenOptions): Topic | Promise<Topic> {
    const o = options<TopicOpenOptions>(opts, OPEN_KEYS);
    if (o.dir !== undefined) string('dir', o.dir);
    if (o.wait === true) {
      const existing = { dir: o.dir, allowForeignOwner: o.allowForeignOwner };
      return openWhenCreated(() => Topic.#open(name, existing), path.dirname(objectFile(posixName(name, 'shm_open'), o.dir)), { timeout: o.timeout, signal: o.signal }, 'shm_open', name);
    }
    return Topic.#open(name, o);
  }

  static #open(name: string, o: TopicOpenOptions): Topic {
    const shm = SharedMemory.open(name, { dir: o.dir, allowForeignOwner: o.allowForeignOwner });
    try {
      const header = new Int32Array(shm.buffer, 0, Math.min(shm.size, H.SUBSCRIBER_SLOTS) >> 2);
      if (header.length > 0) awaitMagic(header);
      const geometry = readHeader(header, shm.size, shm.name);
      return new Topic(shm, new TopicCore(shm.name, shm.buffer, shm.mapping.handle, geometry, shm));
    } catch (err) {
      shm.close();
      throw err;
    }
  }

  /** Removes a topic's name; processes that have it open keep using it. */
  static unlink(name: string, opts?: { dir?: string }): void {
    const o = options<{ dir: string }>(opts, ['dir']);
    SharedMemory.unlink(name, { dir: o.dir });
  }

  /** The largest message, in bytes: capacity / 2 - 16. */
  get maxMessageSize(): number {
    return this.#core.maxMessage;
  }

  get closed(): boolean {
    return this.#core.closed;
  }

  /**
   * A new publisher (EBUSY when all 48 publisher slots are held by live publishers, or a
   * single-publisher topic has a live one); with a codec, it publishes values of type T.
   */
  publisher<T = unknown>(opts: PublisherOptions & { codec: CodecOption }): Publisher<T>;
  publisher(opts?: PublisherOptions): Publisher;
  publisher(opts?: PublisherOptions): Publisher<unknown> {
    const codec = resolveCodec(options<PublisherOptions>(opts, ['codec']).codec);
    this.#checkOpen();
    return this.#keep(new Publisher<unknown>(this.#core, codec));
  }

  /** A new subscriber (EBUSY when every subscriber slot is held by a live subscriber); with a codec, it receives values of type T. */
  subscriber<T = unknown>(opts: SubscribeOptions & { codec: CodecOption }): Subscriber<T>;
  subscriber(opts?: SubscribeOptions): Subscriber;
  subscriber(opts?: SubscribeOptions): Subscriber<unknown> {
    const o = options<SubscribeOptions>(opts, SUBSCRIBE_KEYS);
    const history = integer('history', o.history ?? 0, 0);
    const codec = resolveCodec(o.codec);
    this.#checkOpen();
    return this.#keep(new Subscriber<unknown>(this.#core, history, codec));
  }

  /** Figures read from the header now, and who is alive (system calls: not for a hot loop). */
  stats(): TopicStats {
    this.#checkOpen();
    const core = this.#core;
    const i32 = core.i32;
    const f64 = core.f64;
    let messagesPublished = 0;
    for (let slot = 0; slot < MAX_PUBLISHERS; slot++) messagesPublished += counter(f64[publisherOffset(slot, P.SENT_MESSAGES) >> 3]);
    const head = Atomics.load(i32, H.HEAD >> 2);
    const subscribers: SubscriberStats[] = [];
    for (let slot = 0; slot < core.maxSubscribers; slot++) {
      if (Atomics.load(i32, subscriberOffset(slot, S.STATE) >> 2) !== SUB_ATTACHED) continue;
      subscribers.push({
        slot,
        lagBytes: Math.min(core.capacity, (head - Atomics.load(i32, subscriberOffset(slot, S.CURSOR) >> 2)) >>> 0),
        messagesReceived: counter(f64[subscriberOffset(slot, S.RECEIVED_MESSAGES) >> 3]),
        messagesLost: counter(f64[subscriberOffset(slot, S.LOST_MESSAGES) >> 3]),
      });
    }
    return {
      capacity: core.capacity,
      policy: core.policy,
      retainedBytes: Math.min(core.capacity, (head - Atomics.load(i32, H.TAIL >> 2)) >>> 0),
      messagesPublished,
      publishersAlive: core.liveCount(true),
      subscribers,
    };
  }

  /** Closes every publisher and subscriber made here, and detaches from the segment. */
  close(): void {
    if (this.#core.closed) return;
    for (const m of this.#members) m.close();
    this.#core.close();
    this.#core.closed = true;
    this.#shm.close();
  }

  /** Removes the topic's name; ENOENT if the name is gone or names another object now, which is left alone. */
  unlink(): void {
    if (!this.#shm.named()) {
      throw new SystemError('ENOENT', 'shm_unlink', this.name, 'the name is gone or belongs to another object now (this topic was unlinked already)');
    }
    this.#shm.unlink();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #keep<T extends Publisher<unknown> | Subscriber<unknown>>(member: T): T {
    for (const old of this.#members) if (old.closed) this.#members.delete(old);
    this.#members.add(member);
    return member;
  }

  #checkOpen(): void {
    if (this.#core.closed) throw this.#core.closedError();
  }
}

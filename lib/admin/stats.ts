// The figures of every podshm object of this container and its IPC namespace, for
// `podshm top`, `podshm metrics` and applications (collectStats()). Reading only: a
// channel's or a topic's header is read with pread from a read-only descriptor (no
// mapping, so no SIGBUS and no store), liveness is judged from the OFD locks as `podshm
// ls` does, and nothing here claims a slot. Every value read is hostile: one no correct participant
// could have written reads as unknown (null), never as a number and never as an error.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { CONSUMER_ATTACHED, CONSUMER_CLOSED, CONSUMER_NONE, H, HEADER_SIZE, LAYOUT_VERSION, MAX_PRODUCERS, S, SLOT_SIZE, isValidCapacity } from '../channel/layout';
import { DEFAULT_SHM_DIR } from '../capacity/limits';
import { heldLocks, LIVENESS_REGIONS } from '../liveness/presence';
import { MAGIC } from '../core/magic';
import { listMessageQueues } from '../platform/mq_list';
import { liveParticipants } from './participants';
import { COUNTS_PARTICIPANTS, listShmObjects, type ObjectKind } from '../platform/shm_list';
import { listSegments } from '../platform/sysv_list';
import { argType } from '../core/errors';
import { options, string } from '../core/validate';
import { readTopicFigures, type TopicFigures } from '../topic/figures';
import { readCallCounts, serviceOfClientRing, type CallCounts } from '../service/figures';

export type { TopicFigures, SubscriberFigures } from '../topic/figures';

/** A service's request ring and a client's response ring are channels, told apart by what their consumer marks them with (lib/service/figures.ts). */
export type StatsKind = Exclude<ObjectKind, 'plain'> | 'shm' | 'sysv' | 'mqueue' | 'service' | 'client';

/** What a channel's header and its liveness locks say; every figure is null when unknown (never written, or unreadable as a count). */
export interface ChannelFigures {
  capacity: number;
  /** Producers attached now, and producer slots whose last owner has gone (closed or died). */
  producersLive: number | null;
  producersGone: number | null;
  /** 'died': attached and its process is gone without closing. */
  consumer: 'live' | 'closed' | 'died' | 'none' | null;
  messagesSent: number | null;
  bytesSent: number | null;
  /** As of the consumer's last tail publication (every quarter ring, and whenever it catches up). */
  messagesReceived: number | null;
  bytesReceived: number | null;
  /** Bytes of the ring not yet released by the consumer: the fill level. */
  usedBytes: number | null;
  /** Messages sent and not yet received: the consumer's lag. */
  lagMessages: number | null;
  /** Waits begun (the ring was empty for the consumer, full for a producer) and wake-ups made for a sleeping peer. */
  producerWaits: number | null;
  producerWakeups: number | null;
  consumerWaits: number | null;
  consumerWakeups: number | null;
  /**
   * When the consumer last waited, caught up, after receiving (ms since the epoch): it
   * stamps the clock as it goes to sleep, and every 100 ms of a spinning wait. If
   * lastMessageExact, no message was received since, so the last message came just
   * before (within the spin that preceded the sleep); else it is mid-stream and the
   * last message is later than this.
   */
  lastMessageAt: number | null;
  lastMessageExact: boolean;
}

/** A service (its request ring's channel figures are in ObjectStats.channel). */
export interface ServiceFigures {
  /** Its server: the request ring's consumer. */
  server: ChannelFigures['consumer'];
  /** Servers serving now: 1 or 0 (one dispatcher per service; its handlers run many calls at once). */
  workers: number | null;
  /** Handlers started, by every server the ring has had; and running now (0 when no server is up). */
  callsStarted: number | null;
  callsRunning: number | null;
  /** Clients with a response ring: attached now, and died without closing (until the server or gc removes their ring). */
  clientsLive: number;
  clientsDead: number;
  /** Calls made by the live clients and not yet settled (sent or waiting to be sent, unanswered). */
  callsInFlight: number | null;
}

/** A client's response ring (its channel figures are in ObjectStats.channel). */
export interface ClientFigures {
  /** The service's name. */
  service: string;
  /** Calls it made, and those not yet settled. */
  callsMade: number | null;
  callsInFlight: number | null;
}

export interface ObjectStats {
  kind: StatsKind;
  /** '/name' for POSIX objects, the key in hex for System V segments. */
  name: string;
  /** Tells objects of one name apart over time ("dev:ino", the segment id, or the name for a queue). */
  id: string;
  /** Bytes of the object; null for a message queue. */
  size: number | null;
  /** Live participants of a mutex (its owners) and of a topic (publishers and subscribers), processes attached to a System V segment; null for other kinds. */
  live: number | null;
  /** Bytes queued in a message queue (null if not readable); null for other kinds. */
  queuedBytes: number | null;
  channel: ChannelFigures | null;
  topic: TopicFigures | null;
  service: ServiceFigures | null;
  client: ClientFigures | null;
  /** Why figures are missing (an unreadable or corrupt header), or null. */
  problem: string | null;
}

export interface StatsSnapshot {
  /** When the figures were read, ms since the epoch. */
  at: number;
  objects: ObjectStats[];
  /** Why a source could not be listed at all, or null; a source not asked for is absent. */
  errors: { posix: string | null; sysv?: string | null; mqueue?: string | null };
}

export interface CollectStatsOptions {
  /** The directory of POSIX shared memory. Default /dev/shm. */
  dir?: string;
  /** Also list System V segments (default true). */
  sysv?: boolean;
  /** Also list message queues (default true; a listing starts a short-lived helper process). */
  mqueue?: boolean;
}

const CONSUMER_LOCK = LIVENESS_REGIONS.channel;
const PRODUCER_LOCKS = LIVENESS_REGIONS.channel + 1;

/** A count read from shared memory: a whole number below 2^53, else unknown. */
function count(v: number): number | null {
  return Number.isSafeInteger(v) && v >= 0 ? v : null;
}

const sum = (values: (number | null)[]): number | null => values.reduce<number | null>((a, b) => (a === null || b === null ? null : a + b), 0);

/** The figures of the channel at `file` (its header already told apart as a channel by its magic). */
function readChannel(file: string): { channel: ChannelFigures | null; calls: CallCounts | null; problem: string | null; size: number } {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY);
  try {
    const size = fs.fstatSync(fd).size;
    const header = Buffer.alloc(HEADER_SIZE);
    const none = { channel: null, calls: null, size };
    if (fs.readSync(fd, header, 0, HEADER_SIZE, 0) < HEADER_SIZE) return { ...none, problem: `${size} bytes, shorter than a channel header` };
    const i32 = (offset: number) => header.readInt32LE(offset);
    const f64 = (offset: number) => header.readDoubleLE(offset);
    if (i32(H.MAGIC) >>> 0 !== MAGIC.channel) return { ...none, problem: 'not a channel (any more)' };
    if (i32(H.VERSION) !== LAYOUT_VERSION) return { ...none, problem: `layout version ${i32(H.VERSION)}, this podshm reads ${LAYOUT_VERSION}` };
    const capacity = i32(H.CAPACITY);
    if (!isValidCapacity(capacity) || HEADER_SIZE + capacity > size) return { ...none, problem: `capacity ${capacity} does not fit the ${size}-byte segment` };

    const held = heldLocks(fd, file, CONSUMER_LOCK, PRODUCER_LOCKS + MAX_PRODUCERS);
    const liveLock = (offset: number) => held.some(([start, end]) => start <= offset && offset < end);
    let producersLive = 0;
    let producersGone = 0;
    const slot = (i: number, field: number) => f64(H.SLOTS + i * SLOT_SIZE + field);
    for (let i = 0; i < MAX_PRODUCERS; i++) {
      if (liveLock(PRODUCER_LOCKS + i)) producersLive++;
      else if (i32(H.SLOTS + i * SLOT_SIZE + S.GENERATION) !== 0) producersGone++;
    }
    const state = i32(H.CONSUMER_STATE);
    const consumerLive = liveLock(CONSUMER_LOCK);
    const consumer = consumerLive ? 'live' : state === CONSUMER_CLOSED ? 'closed' : state === CONSUMER_ATTACHED ? 'died' : state === CONSUMER_NONE ? 'none' : null;

    const slots = Array.from({ length: MAX_PRODUCERS }, (_, i) => i);
    const messagesSent = sum(slots.map((i) => count(slot(i, S.SENT_MESSAGES))));
    const messagesReceived = count(f64(H.RECEIVED_MESSAGES));
    const head = i32(H.HEAD);
    const tail = i32(H.TAIL);
    const used = (head - tail) >>> 0;
    const spanOk = (head & 7) === 0 && (tail & 7) === 0 && used <= capacity;
    const caughtUpAt = f64(H.CAUGHT_UP_AT);
    const caughtUpMessages = count(f64(H.CAUGHT_UP_MESSAGES));
    const stamped = Number.isFinite(caughtUpAt) && caughtUpAt > 0 && caughtUpMessages !== null && messagesReceived !== null && caughtUpMessages <= messagesReceived;
    return {
      size,
      problem: null,
      calls: readCallCounts(header.subarray(H.CONSUMER_EXTRA, H.CONSUMER_EXTRA + 64)),
      channel: {
        capacity,
        producersLive,
        producersGone,
        consumer,
        messagesSent,
        bytesSent: sum(slots.map((i) => count(slot(i, S.SENT_BYTES)))),
        messagesReceived,
        bytesReceived: count(f64(H.RECEIVED_BYTES)),
        usedBytes: spanOk ? used : null,
        lagMessages: messagesSent !== null && messagesReceived !== null && messagesSent >= messagesReceived ? messagesSent - messagesReceived : null,
        producerWaits: sum(slots.map((i) => count(slot(i, S.WAITS)))),
        producerWakeups: sum(slots.map((i) => count(slot(i, S.WAKEUPS)))),
        consumerWaits: count(f64(H.CONSUMER_WAITS)),
        consumerWakeups: count(f64(H.CONSUMER_WAKEUPS)),
        lastMessageAt: stamped ? caughtUpAt : null,
        lastMessageExact: stamped && caughtUpMessages === messagesReceived,
      },
    };
  } finally {
    fs.closeSync(fd);
  }
}

const message = (err: unknown): string => (err as Error).message;

const NO_FIGURES = { live: null, queuedBytes: null, channel: null, topic: null, service: null, client: null, problem: null };

const inFlight = (c: CallCounts): number | null => (c.started !== null && c.ended !== null && c.ended <= c.started ? c.started - c.ended : null);

function posixObjects(dir: string): ObjectStats[] {
  const calls = new Map<ObjectStats, CallCounts>();
  const objects = listShmObjects(dir).map((o): ObjectStats => {
    const base = { ...NO_FIGURES, name: o.name, id: `${o.dev}:${o.ino}`, size: o.size };
    const kind: StatsKind = o.kind === 'plain' ? 'shm' : o.kind;
    try {
      if (kind === 'channel') {
        const r = readChannel(o.path);
        const role = r.calls?.role;
        const object: ObjectStats = { ...base, kind: role === 'service' || role === 'client' ? role : kind, size: r.size, channel: r.channel, problem: r.problem };
        if (r.calls !== null) calls.set(object, r.calls);
        return object;
      }
      if (kind === 'topic') {
        const f = readTopicFigures(o.path);
        return typeof f === 'string' ? { ...base, kind, problem: f } : { ...base, kind, topic: f, live: f.publishersLive + f.subscribersLive };
      }
      return { ...base, kind, live: COUNTS_PARTICIPANTS.has(o.kind) ? liveParticipants(o.path) : null };
    } catch (err) {
      // Gone meanwhile, or not ours to open.
      return { ...base, kind, problem: message(err) };
    }
  });
  // A client's ring names its service; a ring whose service is not here (removed, or
  // between servers) stays a client of that name.
  const clients = new Map<string, ObjectStats[]>();
  for (const o of objects) {
    const service = o.kind === 'client' ? serviceOfClientRing(o.name) : null;
    if (service === null) continue;
    const c = calls.get(o)!;
    o.client = { service, callsMade: c.started, callsInFlight: inFlight(c) };
    clients.set(service, [...(clients.get(service) ?? []), o]);
  }
  for (const o of objects) {
    const c = calls.get(o);
    if (o.kind !== 'service' || c === undefined || o.channel === null) continue;
    const server = o.channel.consumer;
    const live = (clients.get(o.name) ?? []).filter((r) => r.channel?.consumer === 'live');
    o.service = {
      server,
      workers: server === null ? null : server === 'live' ? 1 : 0,
      callsStarted: c.started,
      callsRunning: server === 'live' ? inFlight(c) : server === null ? null : 0,
      clientsLive: live.length,
      clientsDead: (clients.get(o.name) ?? []).filter((r) => r.channel?.consumer === 'died').length,
      callsInFlight: sum(live.map((r) => r.client!.callsInFlight)),
    };
  }
  return objects;
}

/** Reads the figures of every object now (system calls per object: not for a hot loop). */
export function collectStats(opts?: CollectStatsOptions): StatsSnapshot {
  const o = options<CollectStatsOptions>(opts, ['dir', 'sysv', 'mqueue']);
  if (o.dir !== undefined) string('dir', o.dir);
  const dir = path.resolve(o.dir ?? DEFAULT_SHM_DIR);
  const at = Date.now();
  const objects: ObjectStats[] = [];
  const errors: StatsSnapshot['errors'] = { posix: null };
  try {
    objects.push(...posixObjects(dir));
  } catch (err) {
    errors.posix = message(err);
  }
  if (o.sysv !== false) {
    errors.sysv = null;
    try {
      for (const s of listSegments()) {
        const name = '0x' + (s.key >>> 0).toString(16).padStart(8, '0');
        objects.push({ ...NO_FIGURES, kind: 'sysv', name, id: String(s.id), size: s.size, live: s.attachCount });
      }
    } catch (err) {
      errors.sysv = message(err);
    }
  }
  if (o.mqueue !== false) {
    const mq = listMessageQueues();
    errors.mqueue = mq.error;
    for (const q of mq.queues) objects.push({ ...NO_FIGURES, kind: 'mqueue', name: q.name, id: q.name, size: null, queuedBytes: q.queuedBytes });
  }
  return { at, objects, errors };
}

/** Per-second rates of a channel, a topic or a service between two snapshots; null where either figure is unknown or went backwards, or the object has no such figure. */
export interface ChannelRates {
  /** Messages sent by producers (a service: requests and cancels; a topic: published). */
  messagesPerSecond: number | null;
  bytesPerSecond: number | null;
  waitsPerSecond: number | null;
  wakeupsPerSecond: number | null;
  /** A service's handlers started. */
  callsPerSecond: number | null;
  /** The time of the last message; when messages were sent between the snapshots, the later one's time (the last message is at most one interval older). */
  lastMessageAt: number | null;
}

function snapshot(name: string, value: unknown): void {
  const s = value as StatsSnapshot | null;
  if (s === null || typeof s !== 'object' || typeof s.at !== 'number' || !Array.isArray(s.objects) || !s.objects.every((o) => o !== null && typeof o === 'object')) {
    throw argType(name, 'a StatsSnapshot (what collectStats() returns)', value);
  }
}

const key = (o: ObjectStats) => `${o.kind}\0${o.name}\0${o.id}`;

/** The rates of every channel, topic and service of `next` that `prev` also saw (the same object: same name and file), by its position in next.objects. */
export function channelRates(prev: StatsSnapshot, next: StatsSnapshot): Map<ObjectStats, ChannelRates> {
  snapshot('prev', prev);
  snapshot('next', next);
  const before = new Map(prev.objects.map((o) => [key(o), o]));
  const seconds = (next.at - prev.at) / 1000;
  const out = new Map<ObjectStats, ChannelRates>();
  const rate = (x: number | null | undefined, y: number | null | undefined) => (x == null || y == null || y < x ? null : (y - x) / seconds);
  const both = (x: number | null, y: number | null) => (x === null || y === null ? null : x + y);
  for (const o of next.objects) {
    const was = before.get(key(o));
    if (was === undefined || !(seconds > 0)) continue;
    const a = was.channel;
    const b = o.channel;
    if (a && b) {
      const sent = a.messagesSent !== null && b.messagesSent !== null && b.messagesSent > a.messagesSent;
      out.set(o, {
        // What producers sent: counted per message, where the consumer publishes its count lazily.
        messagesPerSecond: rate(a.messagesSent, b.messagesSent),
        bytesPerSecond: rate(a.bytesSent, b.bytesSent),
        waitsPerSecond: rate(both(a.producerWaits, a.consumerWaits), both(b.producerWaits, b.consumerWaits)),
        wakeupsPerSecond: rate(both(a.producerWakeups, a.consumerWakeups), both(b.producerWakeups, b.consumerWakeups)),
        callsPerSecond: rate(was.service?.callsStarted, o.service?.callsStarted),
        // Sent between the readings: the last message is at most one interval older than this.
        lastMessageAt: sent ? next.at : b.lastMessageAt,
      });
    } else if (was.topic && o.topic) {
      const x = was.topic.messagesSent;
      const y = o.topic.messagesSent;
      out.set(o, {
        messagesPerSecond: rate(x, y),
        bytesPerSecond: rate(was.topic.bytesSent, o.topic.bytesSent),
        waitsPerSecond: null,
        wakeupsPerSecond: null,
        callsPerSecond: null,
        lastMessageAt: x !== null && y !== null && y > x ? next.at : null,
      });
    }
  }
  return out;
}

// The memory layout of a Topic segment (docs/topic.md draws it). Like a channel's, all
// of it is shared with other processes and so is hostile input: every position, length
// and state read from it is checked before use.
import { TopicCorruptError } from './errors';
import { MAGIC } from '../core/magic';
import { MIN_CAPACITY, MAX_CAPACITY, WAIT_STRATEGIES, isValidCapacity, type WaitStrategy } from '../channel/layout';

export { MIN_CAPACITY, MAX_CAPACITY, WAIT_STRATEGIES, isValidCapacity, type WaitStrategy };

// 2: word 3 of the position after the last record holds the next message's sequence
// number (what a restarted publisher and an attaching subscriber start from), and a
// table of 1 publisher slot makes a single-publisher topic.
export const LAYOUT_VERSION = 2;

export const POLICIES = ['block', 'overwrite', 'disconnect'] as const;
export type Policy = (typeof POLICIES)[number];

/** 'multi': up to MAX_PUBLISHERS publishers, each claim under the lock. 'single': one publisher, no lock on its path. */
export type PublisherMode = 'single' | 'multi';

const PAGE = 4096;

/** Byte offsets of the fixed header fields (Int32 unless noted). Hot words that different sides write are 128 bytes apart, as in a channel. */
export const H = {
  MAGIC: 0,
  VERSION: 4,
  CAPACITY: 8,
  POLICY: 12, // index in POLICIES
  DATA_OFFSET: 16, // the header's size: the fixed page plus the subscriber table, page-rounded
  MAX_SUBSCRIBERS: 20,
  MAX_PUBLISHERS: 24, // MAX_PUBLISHERS, or 1 for a single-publisher topic
  WAIT: 28, // index in WAIT_STRATEGIES

  // Written by publishers: under the lock, or by the single publisher alone. HEAD may lag
  // the chain of written records (a publisher that died between the two); NEXT_SEQ is
  // for figures only, the records' word 3 is what publishers and subscribers go by.
  HEAD: 128, // the end of the claimed records (u32 position, wraps)
  LOCK: 132, // 0 free, else the holder's tag + 1
  NEXT_SEQ: 136, // the sequence number of the next message (u32, wraps)

  // The oldest position still in the ring: what a late joiner can have, and where a
  // subscriber an 'overwrite' or 'disconnect' publisher passed finds out. Moved by
  // publishers, under the lock, before they write into the room it frees. Alone on its
  // line: every subscriber reads it after each message.
  TAIL: 256,

  // Subscribers' sleep for messages, and publishers' sleep for room (lib/channel/wait.ts).
  DATA_SLEEPING: 384,
  DATA_SEQ: 388,
  SPACE_SLEEPING: 512,
  SPACE_SEQ: 516,
  // Raised by a publisher that found the ring full because of subscribers' cursors:
  // they then publish their cursor at every release instead of every quarter ring.
  ROOM_WANTED: 520,

  PUBLISHER_SLOTS: 1024,
  SUBSCRIBER_SLOTS: PAGE,
} as const;

export const PUBLISHER_SLOT_SIZE = 64;
export const MAX_PUBLISHERS = (PAGE - H.PUBLISHER_SLOTS) / PUBLISHER_SLOT_SIZE; // 48
/** Fields of a publisher slot. */
export const P = {
  GENERATION: 0,
  // Word 24 as its holder read it (1: a single publisher): tells the others what it is.
  MODE: 4,
  SENT_MESSAGES: 8, // Float64, written by the slot's owner only
  SENT_BYTES: 16, // Float64
} as const;

// A subscriber's slot is written by that subscriber (its cursor) and by publishers (its
// state, when they free or drop it), 128 bytes each so subscribers never share a line.
export const SUBSCRIBER_SLOT_SIZE = 128;
export const MAX_SUBSCRIBERS = 256;
/** Fields of a subscriber slot. */
export const S = {
  STATE: 0, // SUB_FREE | SUB_ATTACHED | SUB_DROPPED
  GENERATION: 4,
  CURSOR: 8, // the position up to which it has released (u32), published lazily
  RECEIVED_MESSAGES: 16, // Float64, as of its last cursor publication
  LOST_MESSAGES: 24, // Float64: messages an 'overwrite' publisher overwrote before it read them
} as const;

export const SUB_FREE = 0;
export const SUB_ATTACHED = 1;
/** Dropped by a 'disconnect' publisher: its room is no longer held; it learns so at its next receive. */
export const SUB_DROPPED = 2;

// A record: four Int32 words then the payload, padded to 8 bytes.
//   word 0: 0                        not written yet: subscribers wait here
//           extent | WRITTEN | PAD?  as in a channel (lib/channel/layout.ts)
//   word 1: length >= 0              committed
//           -(tag + 1)               reserved, not committed yet; tag = the publisher
//   word 2: the record's own position: a subscriber an 'overwrite' publisher lapped finds
//           another lap's record there, and knows it
//   word 3: the message's sequence number (u32): what a subscriber that skipped counts as
//           lost; a padding record at the wrap carries the next message's
// Word 0 is stored last. Before it publishes a record, a publisher zeroes word 0 of the
// position after it and writes the next sequence number into that position's word 3,
// so the end of the chain always reads 0 and tells which message comes there (the same
// number whatever is written there next: a message, a padding record or a cancelled one).
// Records are 16-byte aligned, so the room left before the end of the data area always
// holds at least a padding record's header.
export const RECORD_HEADER = 16;
export const ALIGN = 16;
export const PAD = 1;
export const WRITTEN = 2;
/** With PAD: a cancelled reservation, whose sequence number no message will carry. */
export const CANCELLED = 4;
export const RECORD_FLAGS = 7;
/** A record's extent (its payload area) for a `length`-byte message. */
export const extentOf = (length: number): number => (length + ALIGN - 1) & ~(ALIGN - 1);

// Participants are numbered publishers first, then subscribers; a tag is a participant
// and the generation of its slot, so a record or the lock left by a dead holder is told
// apart from the next holder's. 21 bits of generation keep -(tag + 1) an int32.
const PARTICIPANTS = 512;
export const GENERATION_MASK = 0x1fffff;
export const tagOf = (participant: number, generation: number): number => participant + (generation & GENERATION_MASK) * PARTICIPANTS;
export const tagParticipant = (tag: number): number => tag % PARTICIPANTS;
export const tagGeneration = (tag: number): number => Math.floor(tag / PARTICIPANTS);

export function headerSize(maxSubscribers: number): number {
  return H.SUBSCRIBER_SLOTS + Math.ceil((maxSubscribers * SUBSCRIBER_SLOT_SIZE) / PAGE) * PAGE;
}

/** The largest message a ring of this capacity carries: contiguous, with a padding record before it and the next word 0 after it. */
export function maxMessageSize(capacity: number): number {
  return capacity / 2 - RECORD_HEADER;
}

export interface Geometry {
  capacity: number;
  policy: Policy;
  publishers: PublisherMode;
  maxSubscribers: number;
  wait: WaitStrategy;
  headerSize: number;
}

/** The size of the publisher table of a topic in this mode. */
export function publisherSlots(mode: PublisherMode): number {
  return mode === 'single' ? 1 : MAX_PUBLISHERS;
}

export function subscriberOffset(slot: number, field: number): number {
  return H.SUBSCRIBER_SLOTS + slot * SUBSCRIBER_SLOT_SIZE + field;
}

export function publisherOffset(slot: number, field: number): number {
  return H.PUBLISHER_SLOTS + slot * PUBLISHER_SLOT_SIZE + field;
}

/** Writes a fresh header into zeroed memory, the magic last. */
export function initHeader(i32: Int32Array, g: Geometry): void {
  i32[H.VERSION >> 2] = LAYOUT_VERSION;
  i32[H.CAPACITY >> 2] = g.capacity;
  i32[H.POLICY >> 2] = POLICIES.indexOf(g.policy);
  i32[H.DATA_OFFSET >> 2] = g.headerSize;
  i32[H.MAX_SUBSCRIBERS >> 2] = g.maxSubscribers;
  i32[H.MAX_PUBLISHERS >> 2] = publisherSlots(g.publishers);
  i32[H.WAIT >> 2] = WAIT_STRATEGIES.indexOf(g.wait);
  Atomics.store(i32, H.MAGIC >> 2, MAGIC.topic);
}

/** Reads and checks the fixed part of a header written by initHeader(). */
export function readHeader(i32: Int32Array, segmentSize: number, name: string): Geometry {
  const bad = (what: string, offset: number, value: number): never => {
    throw new TopicCorruptError(name, what, offset, value);
  };
  if (segmentSize < H.SUBSCRIBER_SLOTS + MIN_CAPACITY) bad(`the segment is ${segmentSize} bytes, too small for a topic`, 0, segmentSize);
  const magic = Atomics.load(i32, H.MAGIC >> 2) >>> 0;
  if (magic !== MAGIC.topic) bad(`bad magic 0x${magic.toString(16)} (not a topic, or not initialised yet)`, H.MAGIC, magic);
  const version = i32[H.VERSION >> 2];
  if (version !== LAYOUT_VERSION) bad(`layout version ${version}, this podshm reads version ${LAYOUT_VERSION}`, H.VERSION, version);
  const maxSubscribers = i32[H.MAX_SUBSCRIBERS >> 2];
  if (!(maxSubscribers >= 1 && maxSubscribers <= MAX_SUBSCRIBERS)) bad(`a table of ${maxSubscribers} subscribers, expected 1 to ${MAX_SUBSCRIBERS}`, H.MAX_SUBSCRIBERS, maxSubscribers);
  const size = headerSize(maxSubscribers);
  if (i32[H.DATA_OFFSET >> 2] !== size) bad(`data offset ${i32[H.DATA_OFFSET >> 2]}, expected ${size}`, H.DATA_OFFSET, i32[H.DATA_OFFSET >> 2]);
  const capacity = i32[H.CAPACITY >> 2];
  if (!isValidCapacity(capacity) || size + capacity > segmentSize) bad(`capacity ${capacity} is not a power of two that fits the ${segmentSize}-byte segment`, H.CAPACITY, capacity);
  const publisherTable = i32[H.MAX_PUBLISHERS >> 2];
  if (publisherTable !== MAX_PUBLISHERS && publisherTable !== 1) bad(`a table of ${publisherTable} publishers, expected ${MAX_PUBLISHERS} (or 1: single publisher)`, H.MAX_PUBLISHERS, publisherTable);
  const policy = POLICIES[i32[H.POLICY >> 2]];
  if (policy === undefined) bad(`unknown policy ${i32[H.POLICY >> 2]}`, H.POLICY, i32[H.POLICY >> 2]);
  const wait = WAIT_STRATEGIES[i32[H.WAIT >> 2]];
  if (wait === undefined) bad(`unknown wait strategy ${i32[H.WAIT >> 2]}`, H.WAIT, i32[H.WAIT >> 2]);
  return { capacity, policy: policy!, publishers: publisherTable === 1 ? 'single' : 'multi', maxSubscribers, wait: wait!, headerSize: size };
}

// The memory layout of a Channel segment (docs/channel.md draws it). Everything here is
// shared with other processes, possibly in other containers, and so is hostile input:
// readers validate every field they use against what they read once at open time.
import { ChannelCorruptError } from '../core/errors';
import { MAGIC } from '../core/magic';

export const LAYOUT_VERSION = 2;

// The header is one page so that the data area starts page-aligned (large zero-copy
// messages then sit on their own pages). Hot words that different sides write are
// 128 bytes apart: x86 prefetches cache lines in pairs, so 64 bytes is not enough
// to keep the producer's and the consumer's stores from bouncing the same pair.
export const HEADER_SIZE = 4096;

/** Byte offsets of the header fields. Int32 unless noted. */
export const H = {
  MAGIC: 0,
  VERSION: 4,
  CAPACITY: 8,
  FLAGS: 12,
  DATA_OFFSET: 16,
  MAX_PRODUCERS: 20,

  // Written by producers.
  HEAD: 128, // next free position (u32, wraps modulo 2^32); the consumer does not poll it
  RESERVE_LOCK: 132, // multi-producer: 0 free, else the holder's owner tag

  // Written by the consumer.
  TAIL: 256, // first position not yet released (u32)
  RECEIVED_MESSAGES: 264, // Float64, as of the last tail publication
  RECEIVED_BYTES: 272, // Float64
  // For readers such as `podshm top` (lib/admin/stats.ts), Float64s the consumer writes
  // on its slow paths only: waits it began, wake-ups it made (a futex wake or a bell
  // ring for a sleeping producer), and when it last waited, caught up, after new
  // messages (ms since the epoch) with RECEIVED_MESSAGES then. Zero in a channel made by
  // an older podshm.
  CONSUMER_WAITS: 280,
  CONSUMER_WAKEUPS: 288,
  CAUGHT_UP_AT: 296,
  CAUGHT_UP_MESSAGES: 304,
  // Eight Float64s the consumer's layer may keep for readers, zero otherwise: a service
  // server and a client write their calls there (lib/service/figures.ts).
  CONSUMER_EXTRA: 312,

  // The consumer's sleep (channel_wait.ts): it raises CONSUMER_SLEEPING; a producer
  // that publishes while it is raised clears it, bumps DATA_SEQ (the futex word) and
  // wakes the consumer.
  CONSUMER_SLEEPING: 384,
  DATA_SEQ: 388,

  // Producers' sleep on a full ring, the same way: the consumer wakes SPACE_SEQ when it
  // frees room and PRODUCERS_SLEEPING is raised.
  PRODUCERS_SLEEPING: 512,
  SPACE_SEQ: 516,
  // Set by a producer that found the ring full without sleeping (trySend, spinning):
  // the consumer then publishes its tail at the next release instead of lazily.
  ROOM_WANTED: 520,

  // Who is or was here (liveness itself is in OFD locks, see channel_peers.ts).
  CONSUMER_STATE: 640, // CONSUMER_NONE | CONSUMER_ATTACHED | CONSUMER_CLOSED
  PRODUCERS_EVER: 644, // attachments ever made, to tell "none yet" from "all gone"
  // Raised by a producer that cannot open the channel's bell (bell.ts): the consumer
  // then sleeps on the futex even on the event loop.
  BELL_OFF: 648,
  BELL_INODE: 656, // Float64: the inode of the bell the creator made, 0 if none

  // One 64-byte slot per producer.
  SLOTS: 1024,
} as const;

export const SLOT_SIZE = 64;
/** Fields of a producer slot, as byte offsets inside the slot. */
export const S = {
  GENERATION: 0, // bumped each time the slot is claimed (24 bits are used in records)
  SENT_MESSAGES: 8, // Float64, written only by the slot's owner
  SENT_BYTES: 16, // Float64
  // Float64s the owner writes on slow paths only, like the consumer's (H.CONSUMER_WAITS).
  WAITS: 24,
  WAKEUPS: 32,
} as const;
export const MAX_PRODUCERS = (HEADER_SIZE - H.SLOTS) / SLOT_SIZE; // 48

export const CONSUMER_NONE = 0;
export const CONSUMER_ATTACHED = 1;
export const CONSUMER_CLOSED = 2;

export const FLAG_MULTI = 1;
export const WAIT_SHIFT = 4;
export const WAIT_MASK = 3 << WAIT_SHIFT;
export const WAIT_STRATEGIES = ['adaptive', 'spin', 'block'] as const;
export type WaitStrategy = (typeof WAIT_STRATEGIES)[number];

// A record: two Int32 words then the payload, padded to 8 bytes.
//   word 0: 0                         not written yet: the consumer waits here
//           extent | WRITTEN | PAD?   extent = the payload area in bytes, a multiple of 8;
//                                     PAD marks the filler that skips to the start at the wrap
//   word 1: length >= 0               committed: the message's length (<= extent)
//           -(tag + 1)                reserved, not yet committed; tag = the owner (slot, generation)
// Word 0 is what publishes a record: it is stored last, with Atomics.store, after word 1,
// the payload, and a 0 in word 0 of the position after the record, so the consumer polls
// the record's own cache line, not the head (docs/channel.md, Protocol).
// A record never crosses the end of the data area, so a message is one contiguous view.
export const RECORD_HEADER = 8;
export const PAD = 1;
export const WRITTEN = 2;
/** The low bits of word 0 that are flags, not extent. */
export const RECORD_FLAGS = 7;

/** The owner tag of a producer in records and in the reserve lock. */
export function ownerTag(slot: number, generation: number): number {
  return slot + (generation & 0xffffff) * MAX_PRODUCERS;
}
export const tagSlot = (tag: number): number => tag % MAX_PRODUCERS;
export const tagGeneration = (tag: number): number => Math.floor(tag / MAX_PRODUCERS);

export const MIN_CAPACITY = 4096;
// Positions are 32-bit counters that wrap; differences stay unambiguous while the data
// area is at most 2^30 bytes. JavaScript keeps them as int32 (`| 0`, printed `>>> 0`):
// V8 holds an int32 field as a small integer, where a uint32 past 2^31 becomes a heap
// number, which slowed a sender by a sixth once 2 GiB had passed (docs/channel.md).
export const MAX_CAPACITY = 2 ** 30;

/**
 * The largest message a ring of this capacity carries: it must fit contiguously with a
 * padding record before it and the next record's word 0 after it.
 */
export function maxMessageSize(capacity: number): number {
  return capacity / 2 - RECORD_HEADER;
}

export interface Geometry {
  capacity: number;
  multi: boolean;
  wait: WaitStrategy;
}

/** Writes a fresh header into zeroed memory; the magic goes last so openers never see a half-made header. */
export function initHeader(i32: Int32Array, g: Geometry): void {
  i32[H.VERSION >> 2] = LAYOUT_VERSION;
  i32[H.CAPACITY >> 2] = g.capacity;
  i32[H.FLAGS >> 2] = (g.multi ? FLAG_MULTI : 0) | (WAIT_STRATEGIES.indexOf(g.wait) << WAIT_SHIFT);
  i32[H.DATA_OFFSET >> 2] = HEADER_SIZE;
  i32[H.MAX_PRODUCERS >> 2] = MAX_PRODUCERS;
  Atomics.store(i32, H.MAGIC >> 2, MAGIC.channel);
}

/** Reads and checks the fixed part of a header written by initHeader(). */
export function readHeader(i32: Int32Array, segmentSize: number, name: string): Geometry {
  const bad = (what: string, offset: number, value: number): never => {
    throw new ChannelCorruptError(name, what, offset, value);
  };
  if (segmentSize < HEADER_SIZE + MIN_CAPACITY) bad(`the segment is ${segmentSize} bytes, too small for a channel`, 0, segmentSize);
  const magic = Atomics.load(i32, H.MAGIC >> 2) >>> 0;
  if (magic !== MAGIC.channel) bad(`bad magic 0x${magic.toString(16)} (not a channel, or not initialised yet)`, H.MAGIC, magic);
  const version = i32[H.VERSION >> 2];
  if (version !== LAYOUT_VERSION) bad(`layout version ${version}, this podshm reads version ${LAYOUT_VERSION}`, H.VERSION, version);
  const capacity = i32[H.CAPACITY >> 2];
  if (!isValidCapacity(capacity) || HEADER_SIZE + capacity > segmentSize) bad(`capacity ${capacity} is not a power of two that fits the ${segmentSize}-byte segment`, H.CAPACITY, capacity);
  if (i32[H.DATA_OFFSET >> 2] !== HEADER_SIZE) bad(`data offset ${i32[H.DATA_OFFSET >> 2]}, expected ${HEADER_SIZE}`, H.DATA_OFFSET, i32[H.DATA_OFFSET >> 2]);
  if (i32[H.MAX_PRODUCERS >> 2] !== MAX_PRODUCERS) bad(`producer table of ${i32[H.MAX_PRODUCERS >> 2]} slots, expected ${MAX_PRODUCERS}`, H.MAX_PRODUCERS, i32[H.MAX_PRODUCERS >> 2]);
  const flags = i32[H.FLAGS >> 2];
  const wait = WAIT_STRATEGIES[(flags & WAIT_MASK) >> WAIT_SHIFT];
  if ((flags & ~(FLAG_MULTI | WAIT_MASK)) !== 0 || wait === undefined) bad(`unknown flags 0x${(flags >>> 0).toString(16)}`, H.FLAGS, flags);
  return { capacity, multi: (flags & FLAG_MULTI) !== 0, wait: wait! };
}

export function isValidCapacity(n: number): boolean {
  return Number.isInteger(n) && n >= MIN_CAPACITY && n <= MAX_CAPACITY && (n & (n - 1)) === 0;
}

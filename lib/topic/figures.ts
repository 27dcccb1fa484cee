// A topic's figures read from its file without attaching (podshm ls, top, metrics and
// collectStats()): what a reader that takes no part may see, every value checked, since
// any process may write the header. Liveness is read from the participants' locks, as
// `podshm ls` reads it; nothing here takes a slot or stores a byte. A figure no correct
// participant could have written reads as unknown (null).
import * as fs from 'node:fs';

import { MAGIC } from '../core/magic';
import { heldLocks, LIVENESS_REGIONS } from '../liveness/presence';
import { H, LAYOUT_VERSION, MAX_PUBLISHERS, MAX_SUBSCRIBERS, P, POLICIES, RECORD_HEADER, S, SUB_ATTACHED, SUB_DROPPED, headerSize, isValidCapacity, publisherOffset, subscriberOffset, type Policy } from './layout';

export interface SubscriberFigures {
  /** Its slot in the subscriber table. */
  slot: number;
  /** 'dead': attached, its process gone without closing (it holds room until a publisher reclaims the slot); 'dropped': by a 'disconnect' publisher, not yet told. */
  state: 'live' | 'dead' | 'dropped';
  /** Bytes of records between its cursor and the head, as of the cursor it last published (every quarter ring, and whenever it catches up). */
  lagBytes: number | null;
  /** Messages between its cursor and the head (a cancelled reservation there counts too); null if the record at its cursor has been overwritten or reads wrong. */
  lagMessages: number | null;
  /** As of its last cursor publication. */
  receivedMessages: number | null;
  /** Messages an 'overwrite' publisher overwrote before it read them. */
  lostMessages: number | null;
}

export interface TopicFigures {
  capacity: number;
  policy: Policy;
  publishersLive: number;
  /** Publisher slots whose last owner has gone (closed or died). */
  publishersGone: number;
  subscribersLive: number;
  /** Attached, their process gone: they hold room until a publisher reclaims their slot. */
  subscribersDead: number;
  /** Messages and payload bytes published, by every publisher there has been. */
  messagesSent: number | null;
  bytesSent: number | null;
  /** Bytes between the oldest record still in the ring and the head: the fill level. */
  usedBytes: number | null;
  /** The farthest an attached subscriber is behind the head, in bytes and in messages (null if any is unknown). */
  maxLagBytes: number | null;
  maxLagMessages: number | null;
  subscribers: SubscriberFigures[];
}

/** A count read from shared memory: a whole number below 2^53, else unknown. */
function count(v: number): number | null {
  return Number.isSafeInteger(v) && v >= 0 ? v : null;
}

const sum = (values: (number | null)[]): number | null => values.reduce<number | null>((a, b) => (a === null || b === null ? null : a + b), 0);
const max = (values: (number | null)[]): number | null => values.reduce<number | null>((a, b) => (a === null || b === null ? null : Math.max(a, b)), 0);

/** The figures of the topic at `file`, or a string saying why there are none. */
export function readTopicFigures(file: string): TopicFigures | string {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY);
  try {
    const size = fs.fstatSync(fd).size;
    const fixed = Buffer.alloc(H.SUBSCRIBER_SLOTS);
    if (fs.readSync(fd, fixed, 0, fixed.length, 0) < fixed.length) return `${size} bytes, shorter than a topic header`;
    const i32 = (offset: number) => fixed.readInt32LE(offset);
    if (i32(H.MAGIC) >>> 0 !== MAGIC.topic) return 'not a topic (any more)';
    if (i32(H.VERSION) !== LAYOUT_VERSION) return `layout version ${i32(H.VERSION)}, this podshm reads ${LAYOUT_VERSION}`;
    const capacity = i32(H.CAPACITY);
    const policy = POLICIES[i32(H.POLICY)];
    const slots = i32(H.MAX_SUBSCRIBERS);
    const data = i32(H.DATA_OFFSET);
    if (!isValidCapacity(capacity) || policy === undefined || !(slots >= 1 && slots <= MAX_SUBSCRIBERS) || data !== headerSize(slots)) {
      return 'a header no correct participant writes';
    }
    if (data + capacity > size) return `capacity ${capacity} does not fit the ${size}-byte segment`;
    const table = Buffer.alloc(subscriberOffset(slots, 0) - H.SUBSCRIBER_SLOTS);
    if (fs.readSync(fd, table, 0, table.length, H.SUBSCRIBER_SLOTS) < table.length) return `${size} bytes, shorter than its subscriber table`;

    const base = LIVENESS_REGIONS.topic;
    const held = heldLocks(fd, file, base, base + MAX_PUBLISHERS + slots);
    const live = (participant: number) => held.some(([start, end]) => start <= base + participant && base + participant < end);

    let publishersLive = 0;
    let publishersGone = 0;
    const sent: (number | null)[] = [];
    const bytes: (number | null)[] = [];
    for (let p = 0; p < MAX_PUBLISHERS; p++) {
      if (live(p)) publishersLive++;
      else if (i32(publisherOffset(p, P.GENERATION)) !== 0) publishersGone++;
      sent.push(count(fixed.readDoubleLE(publisherOffset(p, P.SENT_MESSAGES))));
      bytes.push(count(fixed.readDoubleLE(publisherOffset(p, P.SENT_BYTES))));
    }

    const head = i32(H.HEAD);
    const tail = i32(H.TAIL);
    const nextSeq = i32(H.NEXT_SEQ);
    const used = (head - tail) >>> 0;
    const aligned = (pos: number) => (pos & 15) === 0;
    const record = Buffer.alloc(RECORD_HEADER);
    // Messages from `cursor` to the head: the sequence number of the record there, if it
    // is this lap's (its own position in word 2), tells how many were published since.
    const lagMessages = (cursor: number, lag: number): number | null => {
      if (lag === 0) return 0;
      if (fs.readSync(fd, record, 0, RECORD_HEADER, data + (cursor & (capacity - 1))) < RECORD_HEADER) return null;
      if (record.readInt32LE(8) !== cursor) return null;
      const n = (nextSeq - record.readInt32LE(12)) >>> 0;
      return n >= 1 && n <= lag / RECORD_HEADER ? n : null;
    };

    const subscribers: SubscriberFigures[] = [];
    for (let slot = 0; slot < slots; slot++) {
      const at = subscriberOffset(slot, 0) - H.SUBSCRIBER_SLOTS;
      const state = table.readInt32LE(at + S.STATE);
      if (state !== SUB_ATTACHED && state !== SUB_DROPPED) continue;
      const cursor = table.readInt32LE(at + S.CURSOR);
      const lag = (head - cursor) >>> 0;
      const lagOk = aligned(cursor) && lag <= capacity;
      subscribers.push({
        slot,
        state: state === SUB_DROPPED ? 'dropped' : live(MAX_PUBLISHERS + slot) ? 'live' : 'dead',
        lagBytes: lagOk ? lag : null,
        lagMessages: lagOk ? lagMessages(cursor, lag) : null,
        receivedMessages: count(table.readDoubleLE(at + S.RECEIVED_MESSAGES)),
        lostMessages: count(table.readDoubleLE(at + S.LOST_MESSAGES)),
      });
    }
    const attached = subscribers.filter((s) => s.state !== 'dropped');
    return {
      capacity,
      policy,
      publishersLive,
      publishersGone,
      subscribersLive: attached.filter((s) => s.state === 'live').length,
      subscribersDead: attached.filter((s) => s.state === 'dead').length,
      messagesSent: sum(sent),
      bytesSent: sum(bytes),
      usedBytes: aligned(head) && aligned(tail) && used <= capacity ? used : null,
      maxLagBytes: max(attached.map((s) => s.lagBytes)),
      maxLagMessages: max(attached.map((s) => s.lagMessages)),
      subscribers,
    };
  } finally {
    fs.closeSync(fd);
  }
}

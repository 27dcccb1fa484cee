// A topic's figures read from its file without attaching (podshm ls): what a reader that
// takes no part may see, every value checked, since any process may write the header.
import * as fs from 'node:fs';

import { MAGIC } from '../core/magic';
import { H, LAYOUT_VERSION, MAX_SUBSCRIBERS, POLICIES, S, SUB_ATTACHED, isValidCapacity, subscriberOffset, type Policy } from './layout';

export interface TopicFigures {
  capacity: number;
  policy: Policy;
  /** Subscribers attached (a dead one stays attached until a publisher reclaims its slot). */
  subscribers: number;
  /** The farthest an attached subscriber is behind the head, in bytes, as of the cursors they last published (every quarter ring at least). */
  maxLagBytes: number;
}

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
    if (!isValidCapacity(capacity) || policy === undefined || !(slots >= 1 && slots <= MAX_SUBSCRIBERS)) return 'a header no correct participant writes';
    const table = Buffer.alloc(subscriberOffset(slots, 0) - H.SUBSCRIBER_SLOTS);
    if (fs.readSync(fd, table, 0, table.length, H.SUBSCRIBER_SLOTS) < table.length) return `${size} bytes, shorter than its subscriber table`;
    const head = i32(H.HEAD);
    let subscribers = 0;
    let maxLagBytes = 0;
    for (let slot = 0; slot < slots; slot++) {
      const at = subscriberOffset(slot, 0) - H.SUBSCRIBER_SLOTS;
      if (table.readInt32LE(at + S.STATE) !== SUB_ATTACHED) continue;
      subscribers++;
      maxLagBytes = Math.max(maxLagBytes, Math.min(capacity, (head - table.readInt32LE(at + S.CURSOR)) >>> 0));
    }
    return { capacity, policy, subscribers, maxLagBytes };
  } finally {
    fs.closeSync(fd);
  }
}

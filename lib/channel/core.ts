// What a Sender and a Receiver of one Channel object share: the views over the
// segment, the geometry read once at open (never re-read from shared memory), the
// peers, and the channel's open/closed state.
import { ChannelCorruptError, SystemError } from '../core/errors';
import { H, HEADER_SIZE, maxMessageSize, type Geometry, type WaitStrategy } from './layout';
import type { Peers } from './peers';
import type { Sleeper } from './wait';
import type { Bell } from './bell';
import type { MappingHandle } from '../addon/native';

export class ChannelCore {
  readonly name: string;
  readonly buffer: SharedArrayBuffer;
  readonly i32: Int32Array;
  readonly u8: Uint8Array;
  readonly handle: MappingHandle;
  readonly capacity: number;
  readonly mask: number;
  readonly maxMessage: number;
  readonly multi: boolean;
  readonly wait: WaitStrategy;
  readonly peers: Peers;
  readonly bell: Bell | null;
  /** Producers sleep here when the ring is full. */
  readonly spaceSleeper: Sleeper;
  /** The consumer sleeps here when there is nothing to read. */
  readonly dataSleeper: Sleeper;
  closed = false;

  constructor(name: string, buffer: SharedArrayBuffer, handle: MappingHandle, g: Geometry, peers: Peers, bell: Bell | null) {
    this.name = name;
    this.buffer = buffer;
    this.i32 = new Int32Array(buffer, 0, (HEADER_SIZE + g.capacity) >> 2);
    this.u8 = new Uint8Array(buffer, 0, HEADER_SIZE + g.capacity);
    this.handle = handle;
    this.capacity = g.capacity;
    this.mask = g.capacity - 1;
    this.maxMessage = maxMessageSize(g.capacity);
    this.multi = g.multi;
    this.wait = g.wait;
    this.peers = peers;
    this.bell = bell;
    const bellOff = H.BELL_OFF >> 2;
    this.spaceSleeper = { i32: this.i32, handle, flag: H.PRODUCERS_SLEEPING >> 2, seq: H.SPACE_SEQ >> 2, bell: null, bellOff };
    this.dataSleeper = { i32: this.i32, handle, flag: H.CONSUMER_SLEEPING >> 2, seq: H.DATA_SEQ >> 2, bell, bellOff };
  }

  /** The error for a bad `value` read at byte `offset` of the segment. */
  corrupt(detail: string, offset: number, value: number): ChannelCorruptError {
    return new ChannelCorruptError(this.name, detail, offset, value);
  }

  closedError(): SystemError {
    return new SystemError('EBADF', 'channel', this.name, 'the channel is closed');
  }
}

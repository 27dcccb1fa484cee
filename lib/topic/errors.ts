// The errors only a Topic throws.
import { CorruptionError, PodshmError } from '../core/errors';

/** A topic's header or a record in its ring holds values no correct peer writes. */
export class TopicCorruptError extends CorruptionError {
  constructor(
    /** The topic's name. */
    readonly object: string,
    detail: string,
    offset: number,
    value: number,
  ) {
    super(`topic '${object}' is corrupt: ${detail}`, offset, value);
  }
}

/**
 * A 'disconnect' topic's publisher needed the room this subscriber still held (it had
 * fallen a whole ring behind) and dropped it. The subscriber is closed; what it had not
 * received is gone for it. Subscribe again to go on from the newest messages.
 */
export class SubscriberDroppedError extends PodshmError {
  constructor(
    readonly object: string,
    /** Messages received before the drop. */
    readonly received: number,
  ) {
    super(`topic '${object}': this subscriber fell a whole ring behind and was dropped by a publisher ('disconnect' policy)`, 'ERR_SUBSCRIBER_DROPPED');
  }
}

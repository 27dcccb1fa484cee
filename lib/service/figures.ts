// The figures a service's participants keep for readers such as `podshm top` (lib/admin/
// stats.ts), in the consumer's extra words of the ring each one consumes (H.CONSUMER_EXTRA):
// the server in the request ring, a client in its response ring. One writer per ring (its
// consumer), plain stores, a few per call: no read-modify-write shared with anyone.
import { Channel, consumerExtra } from '../channel/channel';

/** Float64 indexes in the extra words. */
export const F = {
  /** ROLE_SERVICE or ROLE_CLIENT; 0 in a channel of no service. */
  ROLE: 0,
  /** Calls begun: a server's handlers started (over every server of the ring), a client's calls made. */
  STARTED: 1,
  /** Calls over: handlers returned or thrown, calls settled (answered, timed out, aborted, failed). */
  ENDED: 2,
} as const;

export const ROLE_SERVICE = 1;
export const ROLE_CLIENT = 2;

export class CallFigures {
  readonly #f64: Float64Array;
  #started: number;
  #ended: number;

  /** Marks `ring` (consumed here) with `role`. A server that takes over a dead one's ring counts on, and the dead one's handlers as over. */
  constructor(ring: Channel, role: typeof ROLE_SERVICE | typeof ROLE_CLIENT) {
    this.#f64 = consumerExtra(ring);
    const started = this.#f64[F.STARTED]!;
    this.#started = Number.isSafeInteger(started) && started >= 0 ? started : 0;
    this.#ended = this.#started;
    this.#f64[F.STARTED] = this.#started;
    this.#f64[F.ENDED] = this.#ended;
    this.#f64[F.ROLE] = role;
  }

  started(): void {
    this.#f64[F.STARTED] = ++this.#started;
  }

  ended(): void {
    this.#f64[F.ENDED] = ++this.#ended;
  }
}

export interface CallCounts {
  /** 'none': a channel of no service; null: a role no participant writes. */
  role: 'service' | 'client' | 'none' | null;
  started: number | null;
  ended: number | null;
}

/** A count read from shared memory: a whole number below 2^53, else unknown. */
const count = (v: number): number | null => (Number.isSafeInteger(v) && v >= 0 ? v : null);

/** What the consumer of a channel wrote in its extra words, from `extra` (a copy of them, read by a reader that takes no part). */
export function readCallCounts(extra: Buffer): CallCounts {
  const role = extra.readDoubleLE(F.ROLE * 8);
  return {
    role: role === ROLE_SERVICE ? 'service' : role === ROLE_CLIENT ? 'client' : role === 0 ? 'none' : null,
    started: count(extra.readDoubleLE(F.STARTED * 8)),
    ended: count(extra.readDoubleLE(F.ENDED * 8)),
  };
}

/** The service whose client ring `name` is (`${service}.client.${16 hex digits}`, protocol.ts), or null. */
export function serviceOfClientRing(name: string): string | null {
  const m = /^(.+)\.client\.[0-9a-f]{16}$/.exec(name);
  return m === null ? null : m[1]!;
}

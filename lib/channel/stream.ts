// A channel's endpoints as Node streams of bytes (rx.readable(), tx.writable()), so that
// stream.pipeline() and its backpressure work with podshm at either end. There is no
// codec: the chunks are bytes, and a message boundary is not a chunk boundary a reader
// can rely on. Each stream owns its endpoint and closes it when it ends or is destroyed.
import { Readable, Writable } from 'node:stream';
import { PeerGoneError } from '../core/errors';
import { integer, options } from '../core/validate';
import { abortSignal } from '../core/timeout';
import type { Receiver } from './receiver';
import type { Sender } from './sender';

export interface StreamOptions {
  /** Bytes the stream buffers before it stops asking for more (Node's highWaterMark). Default 64 KiB. */
  highWaterMark?: number;
  /** Destroys the stream (AbortError), like the option of Node's streams. */
  signal?: AbortSignal;
}

const KEYS = ['highWaterMark', 'signal'] as const;
const DEFAULT_HIGH_WATER_MARK = 64 * 1024;

function streamOptions(opts: unknown): { highWaterMark: number; signal?: AbortSignal } {
  const o = options<StreamOptions>(opts, KEYS);
  const highWaterMark = o.highWaterMark === undefined ? DEFAULT_HIGH_WATER_MARK : integer('highWaterMark', o.highWaterMark, 0);
  const signal = abortSignal(o.signal);
  return signal === undefined ? { highWaterMark } : { highWaterMark, signal };
}

/**
 * The messages of `rx` as a byte stream. It reads what is in the ring without waiting
 * while the stream wants more (highWaterMark), then waits on the event loop. It ends once
 * every producer has gone, for a receiver made with producersGone: 'end' (with 'wait' it
 * waits for the next producer until destroyed).
 */
export function receiverReadable(rx: Receiver, opts?: StreamOptions): Readable {
  const o = streamOptions(opts);
  // Aborts the one receive that may be pending, so destroy() leaves no wait behind.
  const stop = new AbortController();
  // read() asks for more; one fill() runs at a time. `wanted` is set again only by a
  // push() that leaves room, since push() itself may call read().
  let wanted = false;
  let running = false;
  let pump: Promise<void> = Promise.resolve();
  const readable: Readable = new Readable({
    ...o,
    read() {
      wanted = true;
      // fill() may end before it returns (all it pushed was there already), so its
      // running flag, not its promise, says whether one runs.
      if (!running) pump = fill();
    },
    destroy(err, callback) {
      stop.abort();
      void pump.then(() => {
        rx.close();
        callback(err);
      });
    },
  });

  // Pushes messages while the stream wants them (until its buffer is full).
  async function fill(): Promise<void> {
    running = true;
    try {
      while (wanted) {
        const msg = rx.tryReceive() ?? (await rx.receive({ signal: stop.signal }));
        if (readable.destroyed) return;
        if (msg.length === 0) continue;
        wanted = false;
        if (readable.push(msg)) wanted = true;
      }
    } catch (err) {
      if (readable.destroyed) return;
      if (err instanceof PeerGoneError) {
        readable.push(null);
        rx.close();
      } else readable.destroy(err as Error);
    } finally {
      running = false;
    }
  }
  return readable;
}

/**
 * A byte stream into `tx`: each write is sent as one message (cut into pieces of at most
 * maxMessageSize), a batch of buffered writes in one sendMany(); a write completes once
 * its bytes are in the ring, so a full ring holds the writer back. end() closes the
 * sender: a receiver made with producersGone: 'end' then ends.
 */
export function senderWritable(tx: Sender, opts?: StreamOptions): Writable {
  const o = streamOptions(opts);
  const stop = new AbortController();
  let sending: Promise<void> | null = null;
  const send = (chunks: Uint8Array[], callback: (err?: Error | null) => void): void => {
    const pieces = chunks.flatMap((chunk) => cut(chunk, tx.maxMessageSize));
    sending = tx.sendMany(pieces, { signal: stop.signal }).then(
      () => {
        sending = null;
        callback();
      },
      (err: Error) => {
        sending = null;
        callback(err);
      },
    );
  };
  return new Writable({
    ...o,
    write(chunk: Uint8Array, _encoding, callback) {
      send([chunk], callback);
    },
    writev(chunks, callback) {
      send(
        chunks.map((c) => c.chunk as Uint8Array),
        callback,
      );
    },
    final(callback) {
      tx.close();
      callback();
    },
    destroy(err, callback) {
      stop.abort();
      void Promise.resolve(sending).then(() => {
        tx.close();
        callback(err);
      });
    },
  });
}

function cut(chunk: Uint8Array, max: number): Uint8Array[] {
  if (chunk.length <= max) return [chunk];
  const pieces: Uint8Array[] = [];
  for (let at = 0; at < chunk.length; at += max) pieces.push(chunk.subarray(at, at + max));
  return pieces;
}

// Codecs (docs/api.md, "Codecs"): how a value becomes a message and back, at the
// public surface of Channel, Topic, Service and Client. The rings carry bytes; a codec
// runs before a send and after a receive, never inside a ring's own code.
import * as v8 from 'node:v8';

import { PodshmError, argType, argValue } from './errors';

/** Turns values into message bytes and back. */
export interface Codec<T = unknown> {
  encode(value: T): Uint8Array;
  /** Gets bytes that are its own to keep. */
  decode(bytes: Uint8Array): T;
}

/** What a `codec` option takes: a built-in's name, or a codec of the caller's. */
export type CodecOption = 'json' | 'v8' | 'msgpackr' | Codec;

/**
 * A value the codec could not encode (code ERR_PODSHM_ENCODE: nothing was sent), or a
 * message it could not decode (ERR_PODSHM_DECODE: the message was taken, and is in
 * `bytes`; the next receive gets the next one). The codec's own error is in `cause`.
 */
export class CodecError extends PodshmError {
  constructor(
    code: 'ERR_PODSHM_ENCODE' | 'ERR_PODSHM_DECODE',
    /** The codec's name ('json', 'v8', 'msgpackr', or 'custom'). */
    readonly codec: string,
    message: string,
    /** The message that did not decode (a copy that is the caller's); undefined for an encode. */
    readonly bytes?: Uint8Array,
    cause?: unknown,
  ) {
    super(message, code);
    if (cause !== undefined) this.cause = cause;
  }
}

/** A codec's package that is not installed (code ERR_MODULE_NOT_FOUND). */
export class CodecMissingError extends PodshmError {
  constructor(
    /** The package to install. */
    readonly packageName: string,
    cause: unknown,
  ) {
    super(`the codec '${packageName}' needs the package ${packageName}, which is not installed: npm install ${packageName}`, 'ERR_MODULE_NOT_FOUND');
    this.cause = cause;
  }
}

/** A codec as the endpoints use it: its name for errors, and decode() that may be given a view of a ring. */
export interface BoundCodec {
  readonly name: string;
  encode(value: unknown): Uint8Array;
  /** `view` is valid during the call only (a built-in copies what it keeps; a user's codec is given a copy). */
  decode(view: Uint8Array): unknown;
}

const JSON_CODEC: BoundCodec = {
  name: 'json',
  encode: (value) => {
    const text = JSON.stringify(value);
    // JSON.stringify(undefined), of a function or a symbol: nothing to send.
    if (text === undefined) throw new TypeError(`${typeof value} has no JSON form`);
    return Buffer.from(text);
  },
  decode: (view) => JSON.parse(Buffer.from(view.buffer, view.byteOffset, view.byteLength).toString('utf8')) as unknown,
};

const V8_CODEC: BoundCodec = {
  name: 'v8',
  encode: (value) => v8.serialize(value),
  decode: (view) => v8.deserialize(view.slice()) as unknown,
};

let msgpackr: BoundCodec | null = null;

// Loaded at the first endpoint that asks for it: an optional package of the user's.
function loadMsgpackr(): BoundCodec {
  if (msgpackr !== null) return msgpackr;
  let mod: { Packr: new (o: object) => { pack(v: unknown): Uint8Array; unpack(b: Uint8Array): unknown } };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = require('msgpackr') as typeof mod;
  } catch (err) {
    throw new CodecMissingError('msgpackr', err);
  }
  // copyBuffers: a binary field decoded from a ring must not stay a view of it.
  const packr = new mod.Packr({ copyBuffers: true, useRecords: false });
  msgpackr = { name: 'msgpackr', encode: (value) => packr.pack(value), decode: (view) => packr.unpack(view) };
  return msgpackr;
}

/** The codec a `codec` option names; null for none (bytes). */
export function resolveCodec(option: unknown): BoundCodec | null {
  if (option === undefined || option === null) return null;
  if (typeof option === 'string') {
    if (option === 'json') return JSON_CODEC;
    if (option === 'v8') return V8_CODEC;
    if (option === 'msgpackr') return loadMsgpackr();
    throw argValue('codec', "must be 'json', 'v8', 'msgpackr' or an object with encode and decode", option);
  }
  const c = option as Partial<Codec>;
  if (typeof option !== 'object' || typeof c.encode !== 'function' || typeof c.decode !== 'function') {
    throw argType('codec', "'json', 'v8', 'msgpackr' or an object with encode(value) and decode(bytes)", option);
  }
  const user = option as Codec;
  return { name: 'custom', encode: (value) => user.encode(value), decode: (view) => user.decode(view.slice()) };
}

/** Encodes `value`: the bytes to send, or a CodecError (ERR_PODSHM_ENCODE). */
export function encodeWith(codec: BoundCodec, value: unknown): Uint8Array {
  let bytes: unknown;
  try {
    bytes = codec.encode(value);
  } catch (err) {
    throw new CodecError('ERR_PODSHM_ENCODE', codec.name, `the ${codec.name} codec could not encode the value: ${(err as Error)?.message ?? String(err)}`, undefined, err);
  }
  if (bytes instanceof Uint8Array) return bytes;
  if (ArrayBuffer.isView(bytes)) return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  throw new CodecError('ERR_PODSHM_ENCODE', codec.name, `the ${codec.name} codec's encode() returned ${typeof bytes}, not a Uint8Array`);
}

/** Decodes the message `view` (valid during the call only): its value, or a CodecError (ERR_PODSHM_DECODE) holding a copy of it. */
export function decodeWith(codec: BoundCodec, view: Uint8Array): unknown {
  try {
    return codec.decode(view);
  } catch (err) {
    throw new CodecError('ERR_PODSHM_DECODE', codec.name, `the ${codec.name} codec could not decode a message of ${view.length} bytes: ${(err as Error)?.message ?? String(err)}`, view.slice(), err);
  }
}

/** A handle's record of an endpoint's codec: a built-in's name; a codec of the caller's cannot cross to a worker. */
export function codecOfHandle(codec: BoundCodec | null, what: string): { codec?: 'json' | 'v8' | 'msgpackr' } {
  if (codec === null) return {};
  if (codec.name === 'custom') throw argValue('codec', `of this ${what} is the caller's own, which a handle cannot carry: give fromHandle()'s endpoint none and encode in the worker`, codec.name);
  return { codec: codec.name as 'json' | 'v8' | 'msgpackr' };
}

/** Streams carry bytes: an endpoint with a codec has none. */
export function bytesOnly(codec: BoundCodec | null, what: string): void {
  if (codec !== null) throw argValue('codec', `must be none for ${what} (a stream carries bytes)`, codec.name);
}

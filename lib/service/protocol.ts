// The records of a service (docs/service.md, "Records"). A request ring carries calls
// and cancels from every client; each client's response ring carries the answers to
// its calls. Every field read from a ring is checked: a ring is shared memory, and a
// record no correct peer writes is reported, never trusted.
import { randomBytes } from 'node:crypto';
import { CorruptionError } from '../core/errors';

/** 'PSRQ' and 'PSRS': the first word of a request and of a response. */
export const REQUEST_MAGIC = 0x50535251;
export const RESPONSE_MAGIC = 0x50535253;

export const CALL = 1;
export const CANCEL = 2;
export const OK = 1;
export const FAILED = 2;

// A request: magic u32 | kind u8, 3 zero bytes | client id, 8 bytes | call id u32 |
// 4 zero bytes | deadline f64 (ms since the epoch, 0: none) | payload.
export const REQUEST_HEADER = 32;
// A response: magic u32 | kind u8, 3 zero bytes | call id u32 | 4 zero bytes | payload.
export const RESPONSE_HEADER = 16;

const CLIENT_ID_BYTES = 8;

/** A client's id: 16 hex digits, random, so a restarted client never takes a dead one's ring. */
export function newClientId(): string {
  return randomBytes(CLIENT_ID_BYTES).toString('hex');
}

/** The response ring of client `id` of the service `service` (its canonical name). */
export function clientRingName(service: string, id: string): string {
  return `${service}.client.${id}`;
}

/** A record that breaks this layout; `offset` is within the record. */
export class ServiceRecordError extends CorruptionError {
  constructor(
    /** The ring it was read from. */
    readonly object: string,
    detail: string,
    offset: number,
    value: number,
  ) {
    super(`service ring '${object}': ${detail}`, offset, value);
  }
}

export function writeRequest(bytes: Uint8Array, kind: number, clientId: Uint8Array, callId: number, deadline: number): void {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, REQUEST_HEADER);
  dv.setUint32(0, REQUEST_MAGIC, true);
  dv.setUint32(4, kind, true);
  bytes.set(clientId, 8);
  dv.setUint32(16, callId, true);
  dv.setUint32(20, 0, true);
  dv.setFloat64(24, deadline === Infinity ? 0 : deadline, true);
}

export interface Request {
  kind: typeof CALL | typeof CANCEL;
  client: string;
  callId: number;
  /** ms since the epoch; Infinity: none. */
  deadline: number;
}

type Bad = (detail: string, offset: number, value: number) => never;

// The words every record starts with, checked: its length against its header, its magic
// and its kind (one of `kinds`). Returns a view of the header, its kind and the reporter.
function readHead(view: Uint8Array, ring: string, what: string, size: number, magic: number, kinds: readonly number[]): { dv: DataView; kind: number; bad: Bad } {
  const bad: Bad = (detail, offset, value) => {
    throw new ServiceRecordError(ring, detail, offset, value);
  };
  if (view.length < size) bad(`a ${what} of ${view.length} bytes is shorter than its ${size}-byte header`, 0, view.length);
  const dv = new DataView(view.buffer, view.byteOffset, size);
  const found = dv.getUint32(0, true);
  if (found !== magic) bad(`bad magic 0x${found.toString(16)} (not a ${what})`, 0, found);
  const kind = dv.getUint32(4, true);
  if (!kinds.includes(kind)) bad(`unknown ${what} kind ${kind}`, 4, kind);
  return { dv, kind, bad };
}

/** Reads and checks a request's header (the payload follows at REQUEST_HEADER). */
export function readRequest(view: Uint8Array, ring: string): Request {
  const { dv, kind, bad } = readHead(view, ring, 'request', REQUEST_HEADER, REQUEST_MAGIC, [CALL, CANCEL]);
  if (kind === CANCEL && view.length !== REQUEST_HEADER) bad(`a cancel of ${view.length} bytes carries a payload`, 0, view.length);
  const reserved = dv.getUint32(20, true);
  if (reserved !== 0) bad(`reserved word 0x${reserved.toString(16)} is not zero`, 20, reserved);
  const deadline = dv.getFloat64(24, true);
  if (!(deadline >= 0 && deadline < Number.MAX_SAFE_INTEGER)) bad(`deadline ${deadline} is not a time`, 24, deadline);
  return {
    kind: kind as Request['kind'],
    client: Buffer.from(view.buffer, view.byteOffset + 8, CLIENT_ID_BYTES).toString('hex'),
    callId: dv.getUint32(16, true),
    deadline: deadline === 0 ? Infinity : deadline,
  };
}

export function writeResponse(bytes: Uint8Array, kind: number, callId: number): void {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, RESPONSE_HEADER);
  dv.setUint32(0, RESPONSE_MAGIC, true);
  dv.setUint32(4, kind, true);
  dv.setUint32(8, callId, true);
  dv.setUint32(12, 0, true);
}

export interface Response {
  kind: typeof OK | typeof FAILED;
  callId: number;
}

export function readResponse(view: Uint8Array, ring: string): Response {
  const { dv, kind } = readHead(view, ring, 'response', RESPONSE_HEADER, RESPONSE_MAGIC, [OK, FAILED]);
  return { kind: kind as Response['kind'], callId: dv.getUint32(8, true) };
}

/** What a handler's error becomes on the wire: JSON, never its stack unless asked. */
export function encodeError(err: unknown, withStack: boolean): Uint8Array {
  const e = err instanceof Error ? err : new Error(String(err));
  const code = (e as { code?: unknown }).code;
  const wire = { name: e.name, message: e.message, code: typeof code === 'string' ? code : undefined, stack: withStack ? e.stack : undefined };
  return Buffer.from(JSON.stringify(wire));
}

export interface WireError {
  name: string;
  message: string;
  code?: string;
  stack?: string;
}

/** Decodes encodeError()'s JSON; what a hostile server writes there is cut down to strings. */
export function decodeError(bytes: Uint8Array): WireError {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8'));
  } catch {
    v = null;
  }
  const o = (v !== null && typeof v === 'object' ? v : {}) as Record<string, unknown>;
  const str = (x: unknown): string | undefined => (typeof x === 'string' ? x : undefined);
  return { name: str(o.name) ?? 'Error', message: str(o.message) ?? 'the server sent an unreadable error', code: str(o.code), stack: str(o.stack) };
}

// Named primitives (Semaphore.create/open, Mutex.create/open), each in its own small shared memory
// object. Layout: Int32 magic (lib/core/magic.ts), layout version, byte offset of the body,
// reserved; the body at byte 16. The creator writes the magic last, so an opener that
// finds it knows the rest is written.
import { SystemError } from '../core/errors';
import { awaitMagic } from '../core/magic';
import { posixName } from '../core/names';
import { allowForeignOwner } from '../core/owner';
import { SharedMemory, type CreateOptions } from './shared_memory';
import { boolean, options } from '../core/validate';
import { openWhenCreated, WAIT_KEYS, type WaitForCreationOptions } from '../core/created';
import * as path from 'node:path';
import { objectFile } from './shared_memory';

/** Options of a named primitive's create(). */
export interface NamedCreateOptions extends Pick<CreateOptions, 'mode' | 'dir' | 'allowForeignOwner'> {
  /** Fail with EEXIST if it exists (default). With false, the existing one is opened instead. */
  exclusive?: boolean;
}

/** Options of a named primitive's open(). */
export interface NamedOpenOptions extends Pick<CreateOptions, 'dir' | 'allowForeignOwner'>, WaitForCreationOptions {}

export const NAMED_CREATE_KEYS = ['exclusive', 'mode', 'dir', 'allowForeignOwner'] as const;

export interface NamedKind {
  magic: number;
  /** 'semaphore', 'mutex': for messages. */
  what: string;
  /** The POSIX call it stands for, for errors: 'sem_open'. */
  syscall: string;
}

export const BODY_OFFSET = 16;
const SIZE = 32;
const VERSION = 1;
const WORD = { magic: 0, version: 1, offset: 2 } as const;

/**
 * Creates a named primitive's object, calling `init` on the body before publishing the
 * header (with exclusive: false, opens an existing one instead). The caller owns the
 * returned SharedMemory.
 */
export function createNamed(name: string, kind: NamedKind, o: NamedCreateOptions, init: (shm: SharedMemory, offset: number) => void): SharedMemory {
  const canonical = posixName(name, kind.syscall);
  const exclusive = boolean('exclusive', o.exclusive, true);
  const dir = o.dir === undefined ? {} : { dir: o.dir };
  let shm: SharedMemory;
  try {
    shm = SharedMemory.create(canonical, SIZE, { ...dir, ...(o.mode === undefined ? {} : { mode: o.mode }), exclusive: true });
  } catch (err) {
    if (exclusive || (err as SystemError).code !== 'EEXIST') throw err;
    return openExisting(canonical, kind, o);
  }
  const i32 = new Int32Array(shm.buffer);
  init(shm, BODY_OFFSET);
  Atomics.store(i32, WORD.version, VERSION);
  Atomics.store(i32, WORD.offset, BODY_OFFSET);
  Atomics.store(i32, WORD.magic, kind.magic);
  return shm;
}

/**
 * Opens a named primitive's object (with wait: true, a Promise of it once created); the
 * caller owns the SharedMemory, which `wrap` turns into the primitive.
 */
export function openNamed<T>(name: string, kind: NamedKind, opts: unknown, wrap: (shm: SharedMemory) => T): T | Promise<T> {
  const o = options<NamedOpenOptions>(opts, ['dir', 'allowForeignOwner', ...WAIT_KEYS]);
  const canonical = posixName(name, kind.syscall);
  const open = (): T => {
    const shm = openExisting(canonical, kind, o);
    try {
      return wrap(shm);
    } catch (err) {
      shm.close();
      throw err;
    }
  };
  if (o.wait !== true) return open();
  return openWhenCreated(open, path.dirname(objectFile(canonical, o.dir)), { timeout: o.timeout, signal: o.signal }, kind.syscall, canonical);
}

function openExisting(canonical: string, kind: NamedKind, o: { dir?: string; allowForeignOwner?: boolean }): SharedMemory {
  const shm = SharedMemory.open(canonical, { ...(o.dir === undefined ? {} : { dir: o.dir }), allowForeignOwner: allowForeignOwner(o.allowForeignOwner) });
  try {
    checkHeader(shm, kind);
  } catch (err) {
    shm.close();
    throw err;
  }
  return shm;
}

function checkHeader(shm: SharedMemory, kind: NamedKind): void {
  const notOurs = (detail: string): SystemError => new SystemError('EINVAL', kind.syscall, shm.name, `not a podshm ${kind.what}: ${detail}`);
  if (shm.size < SIZE) throw notOurs(`${shm.size} bytes`);
  const i32 = new Int32Array(shm.buffer, 0, SIZE / 4);
  const magic = awaitMagic(i32);
  if (magic === 0) throw notOurs('its creator never finished writing it');
  if (magic !== kind.magic) throw notOurs(`magic 0x${(magic >>> 0).toString(16)}`);
  const version = Atomics.load(i32, WORD.version);
  if (version !== VERSION) throw new SystemError('EINVAL', kind.syscall, shm.name, `${kind.what} layout version ${version}; this podshm reads version ${VERSION}`);
  if (Atomics.load(i32, WORD.offset) !== BODY_OFFSET) throw notOurs(`body offset ${Atomics.load(i32, WORD.offset)}`);
}

// Named primitives (Semaphore.open, Mutex.open), each in its own small shared memory
// object. Layout: Int32 magic (lib/core/magic.ts), layout version, byte offset of the body,
// reserved; the body at byte 16. The creator writes the magic last, so an opener that
// finds it knows the rest is written.
import { SystemError } from '../core/errors';
import { awaitMagic } from '../core/magic';
import { posixName } from '../core/names';
import { allowForeignOwner } from '../core/owner';
import { SharedMemory, type CreateOptions } from './shared_memory';
import { boolean, options } from '../core/validate';

export interface NamedOptions extends Pick<CreateOptions, 'mode' | 'dir' | 'allowForeignOwner'> {
  /** Create it if it does not exist. Default false. */
  create?: boolean;
  /** With create: fail with EEXIST if it exists. Default false. */
  exclusive?: boolean;
}

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
 * Creates (calling `init` on the body before publishing the header) or opens a named
 * primitive's object. The caller owns the returned SharedMemory.
 */
export function openNamed(name: string, kind: NamedKind, opts: unknown, init: (shm: SharedMemory, offset: number) => void): SharedMemory {
  const canonical = posixName(name, kind.syscall);
  const o = options<NamedOptions>(opts);
  const create = boolean('create', o.create, false);
  const exclusive = boolean('exclusive', o.exclusive, false);
  const dir = o.dir === undefined ? {} : { dir: o.dir };
  const foreign = allowForeignOwner(o.allowForeignOwner);
  if (create) {
    let shm: SharedMemory | null = null;
    try {
      shm = SharedMemory.create(canonical, SIZE, { ...dir, ...(o.mode === undefined ? {} : { mode: o.mode }), exclusive: true });
    } catch (err) {
      if (exclusive || (err as SystemError).code !== 'EEXIST') throw err;
    }
    if (shm) {
      const i32 = new Int32Array(shm.buffer);
      init(shm, BODY_OFFSET);
      Atomics.store(i32, WORD.version, VERSION);
      Atomics.store(i32, WORD.offset, BODY_OFFSET);
      Atomics.store(i32, WORD.magic, kind.magic);
      return shm;
    }
  }
  const shm = SharedMemory.open(canonical, { ...dir, allowForeignOwner: foreign });
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

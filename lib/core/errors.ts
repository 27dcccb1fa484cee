import { constants } from 'node:os';

/**
 * What `code` of a PodshmError can be: a kernel errno name for SystemError (and
 * CapacityError's ENOSPC, a timeout's ETIMEDOUT), else one of podshm's own.
 */
export type PodshmErrorCode =
  | `E${Uppercase<string>}`
  | 'ERR_INVALID_ARG_TYPE'
  | 'ERR_OUT_OF_RANGE'
  | 'ERR_UNKNOWN_OPTION'
  | 'ABORT_ERR'
  | 'ERR_PODSHM_CORRUPT'
  | 'ERR_PEER_GONE'
  | 'ERR_REMOTE'
  | 'ERR_PODSHM_ENCODE'
  | 'ERR_PODSHM_DECODE'
  | 'ERR_MODULE_NOT_FOUND'
  | 'ERR_USAGE';

/** Base class of every error podshm throws. */
export class PodshmError extends Error {
  declare code: PodshmErrorCode;
  constructor(message: string, code: PodshmErrorCode) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * A system call failed (or would fail: names are checked before the call).
 * Shaped like Node's fs errors: code, errno (negative), syscall, plus the object name.
 */
export class SystemError extends PodshmError {
  declare errno: number;
  declare syscall: string;
  declare object: string | undefined;

  constructor(code: `E${Uppercase<string>}`, syscall: string, object: string | undefined, detail?: string) {
    const errno = -((constants.errno as Record<string, number>)[code] ?? 0);
    const what = object === undefined ? '' : ` '${object}'`;
    super(`${code}: ${detail ?? describe(code)}, ${syscall}${what}`, code);
    this.errno = errno;
    this.syscall = syscall;
    this.object = object;
  }

  /** Rethrows an error from the addon with the object's name attached. */
  static from(err: unknown, object: string | undefined): unknown {
    if (err instanceof Error && typeof (err as NodeJS.ErrnoException).syscall === 'string') {
      const e = err as NodeJS.ErrnoException;
      const detail = e.message.split(', ')[0]?.split(': ').slice(1).join(': ');
      return new SystemError((e.code ?? 'EIO') as `E${Uppercase<string>}`, e.syscall!, object, detail || undefined);
    }
    return err;
  }
}

/** Runs a native call and attaches `object` to any system error it raises. */
export function sys<T>(object: string | undefined, call: () => T): T {
  try {
    return call();
  } catch (err) {
    throw SystemError.from(err, object);
  }
}

const DESCRIPTIONS: Record<string, string> = {
  EBADF: 'bad file descriptor (the object is closed)',
  EEXIST: 'file exists',
  EINVAL: 'invalid argument',
  ENAMETOOLONG: 'name too long',
  ENOENT: 'no such file or directory',
  ETIMEDOUT: 'timed out',
};

function describe(code: string): string {
  return DESCRIPTIONS[code] ?? code;
}

/** Not enough room in a tmpfs or a memory cgroup for what was asked. */
export class CapacityError extends PodshmError {
  constructor(
    message: string,
    /** Bytes asked for. */
    readonly requested: number,
    /** What was measured when refusing (see probeLimits()). */
    readonly measured: {
      path: string;
      shmSize: number;
      shmFree: number;
      cgroupLimit: number | null;
      cgroupHeadroom: number | null;
    },
    /** A sizeLimit for a Memory emptyDir that would hold the request, in bytes. */
    readonly suggestedSizeLimit: number,
  ) {
    super(message, 'ENOSPC');
  }
}

/**
 * A wrong argument or option, thrown before any system call. `code` says which kind, as
 * Node's own argument errors do: ERR_INVALID_ARG_TYPE, ERR_OUT_OF_RANGE (the right type
 * but a value outside what is accepted) or ERR_UNKNOWN_OPTION (a key no option has).
 */
export class ArgumentError extends PodshmError {
  constructor(
    message: string,
    code: 'ERR_INVALID_ARG_TYPE' | 'ERR_OUT_OF_RANGE' | 'ERR_UNKNOWN_OPTION',
    /** The argument or option at fault. */
    readonly argument: string,
  ) {
    super(message, code);
  }
}

/** Wrong argument type. */
export function argType(name: string, expected: string, actual: unknown): ArgumentError {
  return new ArgumentError(`The "${name}" argument must be ${expected}. Received ${show(actual)}`, 'ERR_INVALID_ARG_TYPE', name);
}

/** Argument of the right type but a wrong value. */
export function argValue(name: string, reason: string, actual: unknown): ArgumentError {
  return new ArgumentError(`The "${name}" argument ${reason}. Received ${show(actual)}`, 'ERR_OUT_OF_RANGE', name);
}

/** An options object with a key that no option of the call has. */
export function unknownOption(key: string, suggestion: string | null, known: readonly string[]): ArgumentError {
  const hint = suggestion !== null ? `; did you mean "${suggestion}"?` : known.length > 0 ? `; the options are ${known.map((k) => `"${k}"`).join(', ')}` : '; this call takes no options';
  return new ArgumentError(`Unknown option "${key}"${hint}`, 'ERR_UNKNOWN_OPTION', key);
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value);
  if (typeof value === 'bigint') return `${value}n`;
  if (value === null || typeof value !== 'object') return String(value);
  return `an instance of ${value.constructor?.name ?? 'Object'}`;
}

/** The System V numbers a SysVCapacityError was judged on; null where unlimited or unknown. */
export interface SysVCapacity {
  /** kernel.shmmax: largest segment, bytes. */
  shmmax: number | null;
  /** kernel.shmall: all segments of the IPC namespace together, pages. */
  shmall: number | null;
  /** kernel.shmmni: number of segments in the IPC namespace. */
  shmmni: number | null;
  /** Segments that exist now (including those removed but still attached); null without /proc/sysvipc. */
  segments: number | null;
  /** Pages they hold against shmall. */
  pagesInUse: number | null;
  pageSize: number;
}

/**
 * A System V segment that the IPC namespace's limits or the memory cgroup cannot hold.
 * `limit` names the one that binds. `measured.shmSize`/`shmFree` are the shmall budget
 * and what is left of it in bytes (Infinity when unlimited); `suggestedSizeLimit` is 0,
 * as no emptyDir is involved.
 */
export class SysVCapacityError extends CapacityError {
  constructor(
    message: string,
    requested: number,
    readonly limit: 'shmmax' | 'shmall' | 'shmmni' | 'cgroup' | 'memory',
    readonly sysv: SysVCapacity,
    cgroup: { limit: number | null; headroom: number | null } | null,
  ) {
    const budget = sysv.shmall === null ? Infinity : sysv.shmall * sysv.pageSize;
    super(
      message,
      requested,
      {
        path: '/proc/sysvipc/shm',
        shmSize: budget,
        shmFree: Math.max(0, budget - (sysv.pagesInUse ?? 0) * sysv.pageSize),
        cgroupLimit: cgroup?.limit ?? null,
        cgroupHeadroom: cgroup?.headroom ?? null,
      },
      0,
    );
  }
}

/** An async wait ended by its AbortSignal, like Node's own AbortError (code ABORT_ERR). */
export class AbortError extends PodshmError {
  constructor(reason?: unknown) {
    super('The operation was aborted', 'ABORT_ERR');
    if (reason !== undefined) this.cause = reason;
  }
}

/** A shared structure whose contents no correct peer could have written. */
export class CorruptionError extends PodshmError {
  constructor(
    message: string,
    /** Byte offset of the bad word in its mapping. */
    readonly offset: number,
    /** The value found there. */
    readonly value: number,
  ) {
    super(message, 'ERR_PODSHM_CORRUPT');
  }
}

/** A podshm command was called wrongly (unknown option, missing argument). */
export class UsageError extends PodshmError {
  constructor(message: string) {
    super(message, 'ERR_USAGE');
  }
}

/**
 * A POSIX message queue the kernel would refuse (or did refuse) because of a limit of
 * this IPC namespace or user: the limit's name, what was asked and what is allowed.
 * code is the kernel's: EINVAL (msg_max, msgsize_max), EMFILE (RLIMIT_MSGQUEUE),
 * ENOSPC (queues_max).
 */
export class MqueueLimitError extends SystemError {
  constructor(
    code: `E${Uppercase<string>}`,
    object: string,
    detail: string,
    /** 'msg_max', 'msgsize_max', 'queues_max' or 'RLIMIT_MSGQUEUE'. */
    readonly limit: string,
    /** What was asked for: messages, bytes per message, or bytes charged to the user. */
    readonly requested: number,
    /** The limit's value, null when it could not be read. */
    readonly allowed: number | null,
  ) {
    super(code, 'mq_open', object, detail);
  }
}

/** A channel's header or a record in its ring holds values no correct peer writes. */
export class ChannelCorruptError extends CorruptionError {
  constructor(
    /** The channel's name. */
    readonly object: string,
    detail: string,
    offset: number,
    value: number,
  ) {
    super(`channel '${object}' is corrupt: ${detail}`, offset, value);
  }
}

/** The other side of a channel has gone: every producer (for a receiver), or the consumer (for a sender). */
export class PeerGoneError extends PodshmError {
  constructor(
    readonly object: string,
    /** Who has gone. */
    readonly peer: 'producers' | 'consumer',
    detail: string,
  ) {
    super(`channel '${object}': ${detail}`, 'ERR_PEER_GONE');
  }
}

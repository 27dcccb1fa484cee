// The one place that touches the raw addon. Every native function is typed here, one
// interface per group of native/addon.cc's export table; the rest of lib/ imports
// `native` from this module and calls native.<group>.<name>.
import * as path from 'node:path';
import { isMainThread } from 'node:worker_threads';

/** An opaque handle to one mapped range (native/mapping.cc). */
export type MappingHandle = { readonly __mapping: unique symbol };

/** An opaque handle to one death watch (native/death_watch.cc). */
export type DeathWatchHandle = { readonly __deathWatch: unique symbol };

export interface MappedRange {
  handle: MappingHandle;
  buffer: SharedArrayBuffer;
}

export interface FileStat {
  size: number;
  /** Bytes of storage held (st_blocks * 512). */
  allocated: number;
  mode: number;
  uid: number;
  gid: number;
  isFile: boolean;
  /** "dev:ino": which file, whatever its name now. */
  fileId: string;
}

/** shmctl(IPC_STAT) of one System V segment; times in seconds since the epoch, 0 for never. */
export interface SysvStat {
  key: number;
  mode: number;
  uid: number;
  gid: number;
  cuid: number;
  cgid: number;
  size: number;
  attachCount: number;
  creatorPid: number;
  lastPid: number;
  atime: number;
  dtime: number;
  ctime: number;
}

export interface SysvConstants {
  IPC_PRIVATE: number;
  IPC_CREAT: number;
  IPC_EXCL: number;
  SHM_DEST: number;
  SHM_LOCKED: number;
  pageSize: number;
}

/** native/mapping.cc: memory mappings as SharedArrayBuffers. */
export interface MappingBinding {
  readonly backend: 'node-api' | 'v8';
  map(fd: number, length: number, privateCopy: boolean): MappedRange;
  unmap(handle: MappingHandle): void;
  lostPages(handle: MappingHandle): number;
}

/** native/fd.cc: descriptors of any file. */
export interface FdBinding {
  open(path: string, flags: number, mode: number): number;
  close(fd: number): void;
  stat(fd: number): FileStat;
  /** fchmod: exactly this mode, past the umask. */
  setMode(fd: number, mode: number): void;
  /** flock(LOCK_EX | LOCK_NB): false if another open file description holds it. */
  tryFlock(fd: number): boolean;
}

/** native/fd_watch.cc: a descriptor the event loop watches (uv_poll). */
export interface FdWatchBinding {
  /** Hands the descriptor to a handle that closes it; callback(status, events) runs on the event loop. */
  adopt(fd: number, callback: (status: number, events: number) => void): WatchHandle;
  /** events: 1 readable, 2 writable, 0 stop watching (and stop keeping the loop alive). */
  watch(handle: WatchHandle, events: number): void;
  /** Whether a started watch keeps its callback and the event loop alive (watch starts it held). */
  hold(handle: WatchHandle, hold: boolean): void;
  /** Closes the poll handle, then the descriptor. Safe to call twice. */
  close(handle: WatchHandle): void;
}

/** native/shm.cc: POSIX shared memory objects as files in a tmpfs directory (opened with fd.open). */
export interface ShmBinding {
  createUnnamed(dir: string, mode: number): number;
  publish(fd: number, path: string): void;
  allocate(fd: number, size: number): void;
  unlink(path: string): void;
}

/** native/sysv.cc: System V shared memory. */
export interface SysvBinding {
  readonly constants: SysvConstants;
  ftok(path: string, projId: number): number;
  get(key: number, size: number, flags: number): number;
  attach(id: number): MappedRange;
  populate(handle: MappingHandle): void;
  missingBytes(handle: MappingHandle): number;
  stat(id: number): SysvStat;
  set(id: number, uid: number, gid: number, mode: number): void;
  remove(id: number): void;
}

/**
 * native/mq.cc: POSIX message queues (descriptors closed with fd.close). send/receive
 * return a negative errno for EAGAIN, ETIMEDOUT and EINTR (a slice ended, or the wall
 * clock moved: call again with the time left) and throw anything else.
 */
export interface MqBinding {
  open(name: string, flags: number, mode: number, maxMessages: number, messageSize: number): number;
  attributes(fd: number): MqAttributes;
  /**
   * timeoutMs: 0 tries once, < 0 waits for ever; `sliced` as futex.wait's; a wait first
   * tries for up to spinNs. Returns 0, -EAGAIN, -ETIMEDOUT or -EINTR.
   */
  send(fd: number, data: Uint8Array, priority: number, timeoutMs: number, sliced: boolean, spinNs: number): number;
  /** Returns size * 32768 + priority, -EAGAIN, -ETIMEDOUT or -EINTR. */
  receive(fd: number, target: Uint8Array, timeoutMs: number, sliced: boolean, spinNs: number): number;
  unlink(name: string): void;
}

/** native/futex.cc: the shared futex on the 4-byte-aligned word at byteOffset of a mapping, blocking the caller. */
export interface FutexBinding {
  // timeoutMs < 0: no limit. 'ok' means woken (perhaps spuriously): re-check the word.
  // 'slice' (only when `sliced`, as on a Worker's thread): 100 ms passed, short of
  // timeoutMs; wait again with the time left (so that terminate() can reach the Worker).
  wait(handle: MappingHandle, byteOffset: number, expected: number, timeoutMs: number, sliced: boolean): 'ok' | 'timeout' | 'mismatch' | 'slice';
  wake(handle: MappingHandle, byteOffset: number, count: number): number;
  /** The longest one wait call sleeps before it returns 'slice' (100). */
  readonly sliceMs: number;
}

/**
 * native/waiter.cc: futex waits on the environment's waiter thread. The callback gets
 * 'ok' (woken or the word no longer holds expected), 'timeout', 'closed' (the mapping
 * was released in this process) or 'error' (futex_waitv failed: ENOSYS before Linux
 * 5.16). A cancelled wait's callback is never called. Pending waits keep the event loop alive.
 */
export interface WaiterBinding {
  wait(handle: MappingHandle, byteOffset: number, expected: number, timeoutMs: number, callback: (result: 'ok' | 'timeout' | 'closed' | 'error') => void): number;
  cancel(id: number): boolean;
  pending(): number;
  /** Passes of the waiter thread's loop so far (tests: none while nothing happens). */
  loops(): number;
}

/**
 * native/ofd.cc: open-file-description locks, never blocking, on descriptors from open
 * (closed with close, or at the environment's teardown: a Worker that ends without
 * closing them leaves no lock behind).
 */
export interface OfdBinding {
  open(path: string, writable: boolean): number;
  close(fd: number): void;
  lock(fd: number, start: number, length: number, exclusive: boolean): boolean;
  unlock(fd: number, start: number, length: number): void;
  conflict(fd: number, start: number, length: number): { start: number; length: number; exclusive: boolean } | null;
}

/**
 * native/death_watch.cc: a thread blocked until no exclusive lock is left on [start,
 * start + length) of the file behind probeFd; then, if the sleeping flag at flagOffset is
 * raised, it clears it and rings bellFd (flag 2, bellFd >= 0) or adds 1 to the word at
 * byteOffset and wakes it; flagOffset < 0: it swaps the word from -> to and wakes it.
 */
export interface DeathWatchBinding {
  /** null: no thread could be started. */
  start(probeFd: number, start: number, length: number, handle: MappingHandle, byteOffset: number, flagOffset: number, from: number, to: number, bellFd: number): DeathWatchHandle | null;
  fired(watch: DeathWatchHandle): boolean;
  stop(watch: DeathWatchHandle): void;
}

/** native/bell.cc: a channel's bell, a FIFO. */
export interface BellBinding {
  /** mkfifo with exactly `mode`; returns the FIFO open read-write, non-blocking. EEXIST if the name is taken. */
  create(path: string, mode: number): number;
  /** Writes one byte (a full pipe counts as rung). */
  ring(fd: number): void;
  /** Reads every byte there is. */
  drain(fd: number): void;
}

/** The addon's export table (native/addon.cc): one group per native file. */
export interface NativeBinding {
  readonly mapping: MappingBinding;
  readonly fd: FdBinding;
  readonly fdWatch: FdWatchBinding;
  readonly shm: ShmBinding;
  readonly sysv: SysvBinding;
  readonly mq: MqBinding;
  readonly futex: FutexBinding;
  readonly waiter: WaiterBinding;
  readonly ofd: OfdBinding;
  readonly deathWatch: DeathWatchBinding;
  readonly bell: BellBinding;
}

/** An opaque handle owning one descriptor that the event loop can watch (native/fd_watch.cc). */
export type WatchHandle = { readonly __watch: unique symbol };

export interface MqAttributes {
  maxMessages: number;
  messageSize: number;
  currentMessages: number;
}

// dist/cjs/addon/native.js -> package root, where build/ and prebuilds/ live.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const load = require('node-gyp-build') as (dir: string) => unknown;

export const native = load(path.join(__dirname, '..', '..', '..')) as NativeBinding;

/**
 * Whether the addon's blocking calls (futex.wait, mq.send, mq.receive) must come back
 * to JavaScript every sliceMs: only a Worker's blocked thread needs to, to be
 * terminated; the main thread sleeps unsliced.
 */
export const SLICED = !isMainThread;

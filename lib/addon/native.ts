// The one place that touches the raw addon. Every native function is typed here;
// the rest of lib/ imports `native` from this module.
import * as path from 'node:path';

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

export interface NativeBinding {
  // native/mapping.cc
  readonly sharedArrayBufferBackend: 'node-api' | 'v8';
  mapFd(fd: number, length: number, privateCopy: boolean): MappedRange;
  unmap(handle: MappingHandle): void;
  lostPages(handle: MappingHandle): number;

  // native/posix_shm.cc
  openObject(path: string, flags: number, mode: number): number;
  createUnnamed(dir: string, mode: number): number;
  publish(fd: number, path: string): void;
  setMode(fd: number, mode: number): void;
  allocate(fd: number, size: number): void;
  fstat(fd: number): FileStat;
  /** flock(LOCK_EX | LOCK_NB): false if another open file description holds it. */
  tryFlock(fd: number): boolean;
  closeFd(fd: number): void;
  unlinkObject(path: string): void;

  // native/sysv_shm.cc
  readonly sysvConstants: SysvConstants;
  ftok(path: string, projId: number): number;
  shmGet(key: number, size: number, flags: number): number;
  shmAttach(id: number): MappedRange;
  shmPopulate(handle: MappingHandle): void;
  shmMissingBytes(handle: MappingHandle): number;
  shmStat(id: number): SysvStat;
  shmSet(id: number, uid: number, gid: number, mode: number): void;
  shmRemove(id: number): void;
  // native/futex.cc: shared futex on the 4-byte-aligned word at byteOffset of a mapping.
  // timeoutMs < 0: no limit. 'ok' means woken (perhaps spuriously): re-check the word.
  // 'slice' (only when `sliced`, as on a Worker's thread): 100 ms passed, short of
  // timeoutMs; wait again with the time left (so that terminate() can reach the Worker).
  futexWait(handle: MappingHandle, byteOffset: number, expected: number, timeoutMs: number, sliced: boolean): 'ok' | 'timeout' | 'mismatch' | 'slice';
  futexWake(handle: MappingHandle, byteOffset: number, count: number): number;
  /** The longest one futexWait call sleeps before it returns 'slice' (100). */
  readonly futexSliceMs: number;

  // native/waiter.cc: the per-environment waiter thread. The callback gets 'ok' (woken
  // or the word no longer holds expected), 'timeout', 'closed' (the mapping was released
  // in this process) or 'error' (futex_waitv failed: ENOSYS before Linux 5.16). A
  // cancelled wait's callback is never called. Pending waits keep the event loop alive.
  waitAsync(
    handle: MappingHandle,
    byteOffset: number,
    expected: number,
    timeoutMs: number,
    callback: (result: 'ok' | 'timeout' | 'closed' | 'error') => void,
  ): number;
  cancelWait(id: number): boolean;
  pendingWaits(): number;
  /** Passes of the waiter thread's loop so far (tests: none while nothing happens). */
  waiterLoops(): number;

  // native/death_watch.cc: a thread blocked until no exclusive lock is left on
  // [start, start + length) of the file behind probeFd; then, if the sleeping flag at
  // flagOffset is raised, it clears it and rings bellFd (flag 2, bellFd >= 0) or adds 1
  // to the word at byteOffset and wakes it; flagOffset < 0: it swaps the word from ->
  // to and wakes it. null: no thread could be started.
  deathWatch(probeFd: number, start: number, length: number, handle: MappingHandle, byteOffset: number, flagOffset: number, from: number, to: number, bellFd: number): DeathWatchHandle | null;
  deathWatchFired(watch: DeathWatchHandle): boolean;
  deathUnwatch(watch: DeathWatchHandle): void;

  // native/ofd_lock.cc: open-file-description locks, never blocking, on descriptors
  // from ofdOpen (closed with ofdClose, or at the environment's teardown: a Worker that
  // ends without closing them leaves no lock behind).
  ofdOpen(path: string, writable: boolean): number;
  ofdClose(fd: number): void;
  ofdLock(fd: number, start: number, length: number, exclusive: boolean): boolean;
  ofdUnlock(fd: number, start: number, length: number): void;
  ofdConflict(fd: number, start: number, length: number): { start: number; length: number; exclusive: boolean } | null;
  // native/posix_mq.cc. Descriptors are non-blocking; send/receive return a negative
  // errno for EAGAIN and ETIMEDOUT (not exceptional) and throw anything else.
  mqOpen(name: string, flags: number, mode: number, maxMessages: number, messageSize: number): number;
  mqSetMode(fd: number, mode: number): void;
  mqGetattr(fd: number): MqAttributes;
  /** timeoutMs: 0 tries once, < 0 waits for ever. Returns 0, -EAGAIN or -ETIMEDOUT. */
  mqSend(fd: number, data: Uint8Array, priority: number, timeoutMs: number): number;
  /** Returns size * 32768 + priority, -EAGAIN or -ETIMEDOUT. */
  mqReceive(fd: number, target: Uint8Array, timeoutMs: number): number;
  mqUnlink(name: string): void;
  // native/fd_watch.cc
  /** Hands the descriptor to a handle that closes it; callback(status, events) runs on the event loop. */
  fdAdopt(fd: number, callback: (status: number, events: number) => void): WatchHandle;
  /** events: 1 readable, 2 writable, 0 stop watching (and stop keeping the loop alive). */
  fdWatch(handle: WatchHandle, events: number): void;
  /** Whether a started watch keeps its callback and the event loop alive (fdWatch starts it held). */
  fdHold(handle: WatchHandle, hold: boolean): void;
  /** Closes the poll handle, then the descriptor. Safe to call twice. */
  fdClose(handle: WatchHandle): void;
  // native/bell.cc
  /** mkfifo with exactly `mode`; returns the FIFO open read-write, non-blocking. EEXIST if the name is taken. */
  makeFifo(path: string, mode: number): number;
  /** Writes one byte (a full pipe counts as rung). */
  bellRing(fd: number): void;
  /** Reads every byte there is. */
  bellDrain(fd: number): void;
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

// The one place that touches the raw addon. Every native function is typed here;
// the rest of lib/ imports `native` from this module.
import * as path from 'node:path';

/** An opaque handle to one mapped range (native/mapping.cc). */
export type MappingHandle = { readonly __mapping: unique symbol };

export interface MappedRange {
  handle: MappingHandle;
  buffer: SharedArrayBuffer;
}

export interface FileStat {
  size: number;
  mode: number;
  uid: number;
  gid: number;
  isFile: boolean;
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
  closeFd(fd: number): void;
  unlinkObject(path: string): void;
}

// dist/cjs/native.js -> package root, where build/ and prebuilds/ live.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const load = require('node-gyp-build') as (dir: string) => unknown;

export const native = load(path.join(__dirname, '..', '..')) as NativeBinding;

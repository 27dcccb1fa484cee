// A mapped range seen from JavaScript: the SharedArrayBuffer over it, and release(),
// which cuts this process off from the shared memory without ever invalidating a
// view (docs/design.md, "Mapping memory": the pages become private zeros; the range is unmapped at GC).
import { native, type MappingHandle, type MappedRange } from './native';

export class Mapping {
  readonly buffer: SharedArrayBuffer;
  readonly handle: MappingHandle;
  #released = false;

  constructor(range: MappedRange) {
    this.buffer = range.buffer;
    this.handle = range.handle;
  }

  get released(): boolean {
    return this.#released;
  }

  /**
   * Pages that read as zeros because a peer shrank the object under this mapping
   * (a SIGBUS caught by the addon's fault guard instead of killing the process).
   */
  get lostPages(): number {
    return native.mapping.lostPages(this.handle);
  }

  release(): void {
    if (this.#released) return;
    // Released only once it is: an unmap that fails (ENOMEM) leaves the memory attached.
    native.mapping.unmap(this.handle);
    this.#released = true;
  }
}

/** How SharedArrayBuffers are built here: Node-API (Node 22.23.3+, 24.16.0+) or V8 directly (Node 20). */
export const backend: 'node-api' | 'v8' = native.mapping.backend;

// The handles of Mutex and Semaphore (lib/core/handle.ts): a named one by its file, one
// laid out in caller memory by that memory's handle and the offset.
import { SystemError } from '../core/errors';
import { fileFields, fromHandle, type FileHandleFields, type Handle } from '../core/handle';
import { integer } from '../core/validate';
import { SharedMemory } from '../shm/shared_memory';

/** What handle() of a Mutex or Semaphore gives: the named object's file, or `memory` and `offset`. */
export type PrimitiveHandle<T, K extends string> = Handle<T> & { readonly podshm: K } & (FileHandleFields | { readonly memory: Handle; readonly offset: number });

export const PRIMITIVE_KEYS = ['name', 'dir', 'fileId', 'memory', 'offset'] as const;

/** The handle of a primitive: `own` for a named one, else the memory it was laid out in. */
export function primitiveHandle<T, K extends string>(kind: K, own: SharedMemory | null, memory: unknown, offset: number): PrimitiveHandle<T, K> {
  if (own !== null) {
    const { name, dir, fileId } = own.handle();
    return { podshm: kind, name, dir, fileId } as PrimitiveHandle<T, K>;
  }
  const handle = (memory as { handle?: unknown }).handle;
  if (typeof handle !== 'function') throw new SystemError('EINVAL', 'handle', undefined, `this ${kind}'s memory has no handle(): post that memory's name instead`);
  return { podshm: kind, memory: handle.call(memory) as Handle, offset } as PrimitiveHandle<T, K>;
}

/**
 * Opens what a primitive's handle names: `named(shm)` for a named one (the very file),
 * else `inMemory(memory, offset)` on the memory opened again, which is closed if that throws.
 */
export function revivePrimitive<T>(h: Record<string, unknown>, named: (shm: SharedMemory) => T, inMemory: (memory: object, offset: number) => T): T {
  if (h.memory === undefined) return named(SharedMemory.fromFile(fileFields(h), false));
  const offset = integer('handle.offset', h.offset, 0);
  const memory = fromHandle(h.memory as Handle) as { close(): void };
  try {
    return inMemory(memory, offset);
  } catch (err) {
    memory.close();
    throw err;
  }
}

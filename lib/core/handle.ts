// Handing podshm objects to worker_threads. An object holds what a structured clone
// cannot carry (a mapping's native handle, descriptors, liveness locks); cloned as is, it
// would arrive as a plain object of its public fields that looks right and works not at
// all. So every class refuses to be cloned (refuseClone) and offers handle(): a plain
// object naming it, which fromHandle() in the other thread opens again as a new object
// of its own. The classes register how to open each kind (revivable), so this layer
// knows none of them.
import { inspect } from 'node:util';
import { argType, argValue } from './errors';
import { options, string } from './validate';

/** Type-only: what fromHandle() makes of a handle. No handle has this property. */
export declare const HANDLE_OF: unique symbol;

/**
 * A plain, structured-clonable description of a podshm object, made by its handle()
 * method: post it to a Worker (postMessage, workerData) and call fromHandle() there.
 */
export interface Handle<T = unknown> {
  /** Which kind of object: 'SharedMemory', 'Channel', 'Sender', ... */
  readonly podshm: string;
  readonly [HANDLE_OF]?: T;
}

/** Where a POSIX shared memory object is, and which file it must still be. */
export interface FileHandleFields {
  /** The canonical name, with its leading slash. */
  readonly name: string;
  /** The tmpfs directory holding it. */
  readonly dir: string;
  /** "dev:ino" of the file: a name that now names another file is refused (ENOENT). */
  readonly fileId: string;
}

const KEY = 'cloneGuard';
const revivers = new Map<string, { keys: readonly string[]; revive: (h: Record<string, unknown>) => unknown }>();

/**
 * Makes a structured clone of `object` (postMessage, workerData, structuredClone) throw a
 * DataCloneError that says what to do instead: the clone reads every own enumerable
 * property, and this one holds an object whose own property throws when read. `advice`
 * ends the message. JSON.stringify and util.inspect show the object's fields without it;
 * a spread copy (`{...channel}`) carries the guard along, and refuses as the object would.
 * The clone reads properties in order: a class with a field that cannot be cloned
 * (FutexWord's mapping) calls this before that field exists, or the clone fails first
 * with a message that says nothing.
 */
export function refuseClone(object: object, kind: string, advice = 'pass its handle() and call fromHandle() in the worker'): void {
  // A plain store, not defineProperty, which costs as much as the rest of a Reservation.
  (object as Record<string, unknown>)[KEY] = guardOf(kind, advice);
  const proto = Object.getPrototypeOf(object) as object;
  if (Object.hasOwn(proto, 'toJSON')) return;
  Object.defineProperty(proto, 'toJSON', { value: toJSON, configurable: true, writable: true });
  Object.defineProperty(proto, inspect.custom, { value: inspectFields, configurable: true, writable: true });
}

// One guard per kind and advice, shared by every object of the kind, so that a guarded
// object costs one plain property: a getter made per object gave each object a hidden
// class of its own (a Reservation, made per message, then cost ten sends).
const guards = new Map<string, Map<string, object>>();

function guardOf(kind: string, advice: string): object {
  let byAdvice = guards.get(kind);
  if (byAdvice === undefined) guards.set(kind, (byAdvice = new Map()));
  let guard = byAdvice.get(advice);
  if (guard === undefined) {
    guard = Object.freeze(
      Object.defineProperty({}, 'refused', {
        enumerable: true,
        get() {
          throw new DOMException(`A podshm ${kind} cannot be cloned (postMessage, workerData, structuredClone): ${advice}`, 'DataCloneError');
        },
      }),
    );
    byAdvice.set(advice, guard);
  }
  return guard;
}

/** The object's own fields without the clone guard. */
function toJSON(this: object): Record<string, unknown> {
  const shown: Record<string, unknown> = {};
  for (const key of Object.keys(this)) {
    if (key !== KEY) shown[key] = (this as Record<string, unknown>)[key];
  }
  return shown;
}

function inspectFields(this: object, _depth: number, opts: object): string {
  return `${this.constructor.name} ${inspect(toJSON.call(this), opts)}`;
}

/**
 * Called once per class (from a static block): fromHandle() opens handles of `kind`
 * with `revive`, after checking that the handle has only `keys` besides `podshm`.
 */
export function revivable(kind: string, keys: readonly string[], revive: (h: Record<string, unknown>) => unknown): void {
  revivers.set(kind, { keys, revive });
}

/**
 * Opens, in this thread, the object a handle describes: a new object of its own (closing
 * it does not close the original, nor the other way round). A value that is not a handle
 * is an ArgumentError; an object that is gone is the error its open gives (ENOENT).
 */
export function fromHandle<T>(handle: Handle<T>): T {
  if (handle === null || typeof handle !== 'object' || typeof (handle as { podshm?: unknown }).podshm !== 'string') {
    throw argType('handle', "a podshm handle (an object with a string 'podshm', made by handle())", handle);
  }
  const kind = (handle as { podshm: string }).podshm;
  const reviver = revivers.get(kind);
  if (reviver === undefined) throw argValue('handle.podshm', `must be one of ${[...revivers.keys()].map((k) => `'${k}'`).join(', ')}`, kind);
  return reviver.revive(options<Record<string, unknown>>(handle, ['podshm', ...reviver.keys])) as T;
}

/** The checked name, dir and fileId of a handle of a file. */
export function fileFields(h: Record<string, unknown>, prefix = 'handle'): FileHandleFields {
  return { name: string(`${prefix}.name`, h.name), dir: string(`${prefix}.dir`, h.dir), fileId: string(`${prefix}.fileId`, h.fileId) };
}

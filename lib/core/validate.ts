// Argument checks shared by every public class; each throws before any system call.
import { argType, argValue } from './errors';
import { nearest } from './nearest';

export function integer(name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number') throw argType(name, 'of type number', value);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw argValue(name, `must be an integer >= ${min} and <= ${max}`, value);
  }
  return value;
}

export function fileMode(value: unknown): number {
  return integer('mode', value, 0, 0o7777);
}

/**
 * An options object (undefined reads as {}). With `keys`, a key outside them is a
 * TypeError that names it and the nearest valid key, so a misspelt option never passes
 * silently as its default.
 */
export function options<T extends object>(value: unknown, keys?: readonly string[]): Partial<T> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object') throw argType('options', 'an object', value);
  if (keys !== undefined) {
    for (const key of Object.keys(value)) {
      if (keys.includes(key)) continue;
      const near = nearest(key, keys);
      const err = new TypeError(`Unknown option '${key}'${near === null ? '' : ` (did you mean '${near}'?)`}; valid options: ${keys.join(', ')}`);
      (err as NodeJS.ErrnoException).code = 'ERR_INVALID_ARG_VALUE';
      throw err;
    }
  }
  return value as Partial<T>;
}

export function boolean(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw argType(name, 'of type boolean', value);
  return value;
}

export function string(name: string, value: unknown): string {
  if (typeof value !== 'string') throw argType(name, 'of type string', value);
  return value;
}

/** A file system path: a string without NUL (the addon hands paths to the kernel as C strings: a NUL would cut one short, to another file). */
export function pathString(name: string, value: unknown): string {
  string(name, value);
  if ((value as string).includes('\0')) throw argValue(name, 'must not contain a NUL byte', value);
  return value as string;
}

// Argument checks shared by every public class; each throws before any system call.
import { argType, argValue, unknownOption } from './errors';
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

// Shared (a receive per message must not allocate one), so frozen.
const NO_OPTIONS = Object.freeze({});

/**
 * An options object: undefined reads as {}; a key outside `keys` (a misspelling would
 * otherwise be silently ignored and give a default) is an ERR_UNKNOWN_OPTION naming the
 * nearest known key.
 */
export function options<T extends object>(value: unknown, keys: readonly (keyof T & string)[]): Partial<T> {
  if (value === undefined) return NO_OPTIONS;
  if (value === null || typeof value !== 'object') throw argType('options', 'an object', value);
  for (const key in value) {
    if (!keys.includes(key as keyof T & string)) throw unknownOption(key, nearest(key, keys), keys);
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

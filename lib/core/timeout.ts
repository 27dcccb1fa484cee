// The { timeout } and { signal, timeout } options of blocking and async calls.
import { argType, argValue } from './errors';

/** Milliseconds to wait: a non-negative number (fractions round up) or Infinity; default Infinity. */
export function timeoutMs(value: unknown): number {
  if (value === undefined || value === Infinity) return Infinity;
  if (typeof value !== 'number') throw argType('timeout', 'of type number', value);
  if (!(value >= 0)) throw argValue('timeout', 'must be >= 0 or Infinity', value);
  return Math.ceil(value);
}

export function abortSignal(value: unknown): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof AbortSignal)) throw argType('signal', 'an instance of AbortSignal', value);
  return value;
}

/** Time left until an absolute deadline from performance.now() (Infinity stays Infinity). */
export function remaining(deadline: number): number {
  return deadline === Infinity ? Infinity : Math.max(0, Math.ceil(deadline - performance.now()));
}

export function deadlineOf(ms: number): number {
  return ms === Infinity ? Infinity : performance.now() + ms;
}

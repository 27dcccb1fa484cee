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

// One 'abort' listener per signal, however many pending calls share it: a signal warns
// past ten listeners, and one AbortController for a whole consumer is common.
interface AbortWatch {
  callbacks: Set<() => void>;
  listener: () => void;
}
const watches = new WeakMap<AbortSignal, AbortWatch>();

/**
 * Calls `callback` once if `signal` aborts; the function returned stops watching (call
 * it when the call settles, so a long-lived signal keeps no listener of it).
 */
export function onAbort(signal: AbortSignal, callback: () => void): () => void {
  let watch = watches.get(signal);
  if (watch === undefined) {
    const callbacks = new Set<() => void>();
    const listener = (): void => {
      watches.delete(signal);
      // One call's callback that throws must not leave the others' calls pending.
      for (const f of [...callbacks]) {
        try {
          f();
        } catch (err) {
          queueMicrotask(() => {
            throw err;
          });
        }
      }
    };
    watch = { callbacks, listener };
    watches.set(signal, watch);
    signal.addEventListener('abort', listener, { once: true });
  }
  const w = watch;
  // A function of its own, so one callback passed twice is watched twice.
  const entry = (): void => callback();
  w.callbacks.add(entry);
  return () => {
    if (!w.callbacks.delete(entry) || w.callbacks.size > 0) return;
    signal.removeEventListener('abort', w.listener);
    if (watches.get(signal) === w) watches.delete(signal);
  };
}

/** Time left until an absolute deadline from performance.now() (Infinity stays Infinity). */
export function remaining(deadline: number): number {
  return deadline === Infinity ? Infinity : Math.max(0, Math.ceil(deadline - performance.now()));
}

export function deadlineOf(ms: number): number {
  return ms === Infinity ? Infinity : performance.now() + ms;
}

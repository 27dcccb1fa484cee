// The first 32-bit word of every shared structure podshm lays out, so tools (podshm
// ls, gc) and openers can tell what an object is and refuse what it is not.
// Little-endian ASCII tags; add one here for each new layout.
export const MAGIC = {
  // 'PSHC': a Channel ring (lib/channel/channel.ts)
  channel: 0x43485350,
  // 'PSHS': a named Semaphore's segment (lib/sync/semaphore.ts)
  semaphore: 0x53485350,
  // 'PSHM': a named Mutex's segment (lib/sync/mutex.ts)
  mutex: 0x4d485350,
  // 'PSHT': a Topic ring (lib/topic/topic.ts)
  topic: 0x54485350,
} as const;

/** How long an opener waits for a creator to publish the magic of an object it has just named. */
const INIT_WAIT_MS = 1000;

/**
 * The magic word at Int32 index 0 of `i32`, once it is there: a creator makes the name
 * appear before it writes the header (the object is sized and named first), so an
 * opener in that moment waits for it, up to INIT_WAIT_MS; 0 if it never came.
 */
export function awaitMagic(i32: Int32Array): number {
  const end = performance.now() + INIT_WAIT_MS;
  const nap = new Int32Array(new SharedArrayBuffer(4));
  while (Atomics.load(i32, 0) === 0 && performance.now() < end) Atomics.wait(nap, 0, 0, 1);
  return Atomics.load(i32, 0);
}

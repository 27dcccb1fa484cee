// The first 32-bit word of every shared structure podshm lays out, so tools (podshm
// ls, gc) and openers can tell what an object is and refuse what it is not.
// Little-endian ASCII tags; add one here for each new layout.
export const MAGIC = {
  // 'PSHC': a Channel ring (lib/channel.ts)
  channel: 0x43485350,
  // 'PSHS': a named Semaphore's segment (lib/semaphore.ts)
  semaphore: 0x53485350,
  // 'PSHM': a named Mutex's segment (lib/mutex.ts)
  mutex: 0x4d485350,
} as const;

export { SharedMemory, type CreateOptions, type OpenOptions } from './posix_shm';
export { probeLimits, type Limits, type ShmLimits, type MqueueLimits, type SysvLimits } from './limits';
export { type MemoryCgroup } from './cgroup';
export { PodshmError, SystemError, CapacityError } from './errors';
export { native as _native } from './native';
export { FutexWord, type WaitResult, type AsyncWaitOptions } from './futex';
export { Presence, LivenessProbe, liveSlots, isAlive, LIVENESS_REGIONS, type SlotRange, type ClaimOptions } from './liveness';
export { AbortError, CorruptionError } from './errors';
export { Semaphore, type MappedMemory, type OpenSemaphoreOptions } from './semaphore';
export { Mutex, type FileMappedMemory } from './mutex';
export { type NamedOptions } from './named_segment';
export {
  Channel,
  Sender,
  Receiver,
  Reservation,
  type ChannelCreateOptions,
  type ChannelOpenOptions,
  type ChannelStats,
  type WaitStrategy,
  type SendOptions,
  type SendAsyncOptions,
  type ReceiveOptions,
  type ReceiveAsyncOptions,
  type MessageHandler,
} from './channel';
export { ChannelCorruptError, PeerGoneError } from './errors';

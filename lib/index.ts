export { SharedMemory, type CreateOptions, type OpenOptions } from './posix_shm';
export { probeLimits, type Limits, type ShmLimits, type MqueueLimits, type SysvLimits } from './limits';
export { type MemoryCgroup } from './cgroup';
export { PodshmError, SystemError, CapacityError } from './errors';
export { backend } from './mapping';

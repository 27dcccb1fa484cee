export { SharedMemory, type CreateOptions, type OpenOptions } from './posix_shm';
export { probeLimits, type Limits, type ShmLimits, type MqueueLimits, type SysvLimits } from './limits';
export { type MemoryCgroup } from './cgroup';
export { PodshmError, SystemError, CapacityError } from './errors';
export { native as _native } from './native';
export { diagnose, type DoctorReport, type Finding, type ShmReport, type EmptyDirAdvice } from './doctor';
export { type KubernetesInfo } from './kubernetes';

export { SharedMemory, type CreateOptions, type OpenOptions } from './posix_shm';
export { probeLimits, type Limits, type ShmLimits, type MqueueLimits, type SysvLimits } from './limits';
export { type MemoryCgroup } from './cgroup';
export { PodshmError, SystemError, CapacityError } from './errors';
export { native as _native } from './native';
export { mutatePod, type MutateOptions, type Mutation, type JsonPatchOperation } from './webhook/mutate';
export { reviewAdmission, type Review, type AdmissionReviewResponse, type AdmissionResponse } from './webhook/review';
export { parseQuantity } from './webhook/quantity';

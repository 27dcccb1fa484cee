export { SharedMemory, type CreateOptions, type OpenOptions } from './posix_shm';
export { probeLimits, type Limits, type ShmLimits, type MqueueLimits, type SysvLimits } from './limits';
export { type MemoryCgroup } from './cgroup';
export { PodshmError, SystemError, CapacityError } from './errors';
export { backend } from './mapping';
export {
  SysVSharedMemory,
  ftok,
  type SysVKey,
  type SysVTarget,
  type SysVCreateOptions,
  type SysVOpenOptions,
  type SysVPermissions,
  type SysVSegmentStat,
  type SysVSegmentInfo,
} from './sysv';
export { SysVCapacityError, type SysVCapacity } from './errors';
export { FutexWord, type WaitResult, type AsyncWaitOptions } from './futex';
export { Presence, LivenessProbe, liveSlots, isAlive, LIVENESS_REGIONS, type SlotRange, type ClaimOptions } from './liveness';
export { AbortError, CorruptionError } from './errors';
export { diagnose, type DoctorReport, type Finding, type ShmReport, type EmptyDirAdvice } from './doctor';
export { type KubernetesInfo } from './kubernetes';
export { Semaphore, type MappedMemory, type OpenSemaphoreOptions } from './semaphore';
export { Mutex, type FileMappedMemory } from './mutex';
export { type NamedOptions } from './named_segment';
export { MessageQueue, type MessageQueueOptions, type Message, type Received, type QueueAttributes, type SendOptions, type ReceiveOptions, type AsyncOptions, type AsyncSendOptions } from './posix_mq';
export { MqueueLimitError } from './errors';
export { queueBytes as mqueueQueueBytes } from './mq_limits';
export { mutatePod, type MutateOptions, type Mutation, type JsonPatchOperation } from './webhook/mutate';
export { reviewAdmission, type Review, type AdmissionReviewResponse, type AdmissionResponse } from './webhook/review';
export { parseQuantity } from './webhook/quantity';

export {
  Channel,
  Sender,
  Receiver,
  Reservation,
  type ChannelCreateOptions,
  type ChannelOpenOptions,
  type ChannelStats,
  type WaitStrategy,
  type SendOptions as ChannelSendOptions,
  type SendAsyncOptions as ChannelSendAsyncOptions,
  type ReceiveOptions as ChannelReceiveOptions,
  type ReceiveAsyncOptions as ChannelReceiveAsyncOptions,
  type MessageHandler,
} from './channel';
export { ChannelCorruptError, PeerGoneError } from './errors';

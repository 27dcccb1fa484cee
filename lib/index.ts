// The public API, one line per facility (layered as in iceoryx2: kernel facility,
// concurrency primitive, service).

// Shared memory and what this container may use of it
export { SharedMemory, type CreateOptions, type OpenOptions } from './posix_shm';
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
export { probeLimits, type Limits, type ShmLimits, type MqueueLimits, type SysvLimits } from './limits';
export { type MemoryCgroup } from './cgroup';
export { backend } from './mapping';

// Message queues
export { MessageQueue, type MessageQueueOptions, type Message, type Received, type QueueAttributes, type SendOptions, type ReceiveOptions, type AsyncOptions, type AsyncSendOptions } from './posix_mq';
export { queueBytes as mqueueQueueBytes } from './mq_limits';

// Waiting and liveness across processes, and the primitives built on them
export { FutexWord, type WaitResult, type AsyncWaitOptions } from './futex';
export { Presence, LivenessProbe, liveSlots, isAlive, LIVENESS_REGIONS, type SlotRange, type ClaimOptions } from './liveness';
export { Semaphore, type MappedMemory, type OpenSemaphoreOptions } from './semaphore';
export { Mutex, type FileMappedMemory } from './mutex';
export { type NamedOptions } from './named_segment';

// The channel
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

// What flows through every object of the pod, read without attaching (docs/observability.md)
export { collectStats, channelRates, type CollectStatsOptions, type StatsSnapshot, type ObjectStats, type StatsKind, type ChannelFigures, type ChannelRates } from './object_stats';

// The platform side: the doctor's report and the admission webhook's mutation
export { diagnose, type DoctorReport, type Finding, type ShmReport, type EmptyDirAdvice } from './doctor';
export { type KubernetesInfo } from './kubernetes';
export { mutatePod, type MutateOptions, type Mutation, type JsonPatchOperation } from './webhook/mutate';
export { reviewAdmission, type Review, type AdmissionReviewResponse, type AdmissionResponse } from './webhook/review';
export { parseQuantity } from './webhook/quantity';

// Errors
export {
  PodshmError,
  SystemError,
  CapacityError,
  SysVCapacityError,
  type SysVCapacity,
  MqueueLimitError,
  AbortError,
  CorruptionError,
  ChannelCorruptError,
  PeerGoneError,
} from './errors';

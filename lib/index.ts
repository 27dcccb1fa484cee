// The public API: what docs/api.md and the pages it links document, and nothing else.
// The admission webhook's API is the subpath export 'podshm/webhook' (lib/webhook/index.ts).
// The layers under these modules are described in docs/design.md.

// Shared memory and what this container may use of it
export { SharedMemory, type CreateOptions, type OpenOptions } from './shm/shared_memory';
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
} from './shm/sysv';
export { probeLimits, type Limits, type ShmLimits, type MqueueLimits, type SysvLimits } from './capacity/limits';
export { type MemoryCgroup } from './platform/cgroup';
export { backend } from './addon/mapping';

// Message queues
export {
  MessageQueue,
  type MessageQueueOpenOptions,
  type MessageQueueCreateOptions,
  type Message,
  type Received,
  type QueueAttributes,
  type SendOptions as MessageQueueSendOptions,
  type SendSyncOptions as MessageQueueSendSyncOptions,
  type ReceiveOptions as MessageQueueReceiveOptions,
  type ReceiveSyncOptions as MessageQueueReceiveSyncOptions,
} from './mq/message_queue';
export { queueBytes as mqueueQueueBytes } from './capacity/mq';

// Waiting across processes, and the primitives built on it
export { FutexWord, type WaitResult, type WaitOptions, type WaitSyncOptions, type FutexWaitSyncOptions } from './wait/futex';
export { Semaphore, type MappedMemory, type SemaphoreCreateOptions } from './sync/semaphore';
export { Mutex, type FileMappedMemory } from './sync/mutex';
export { type NamedCreateOptions, type NamedOpenOptions } from './shm/named_segment';
export { type WaitForCreationOptions } from './core/created';

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
  type SendSyncOptions as ChannelSendSyncOptions,
  type ReceiveOptions as ChannelReceiveOptions,
  type ReceiveSyncOptions as ChannelReceiveSyncOptions,
  type ReceiverOptions,
  type SenderOptions,
  type MessageHandler,
  type StreamOptions,
} from './channel/channel';

// Publish/subscribe
export {
  Topic,
  Publisher,
  Subscriber,
  Reservation as TopicReservation,
  type TopicCreateOptions,
  type TopicOpenOptions,
  type SubscribeOptions,
  type TopicStats,
  type SubscriberStats,
  type Policy as TopicPolicy,
  type PublishOptions,
  type PublishSyncOptions,
  type PublisherOptions,
  type ReceiveOptions as TopicReceiveOptions,
  type ReceiveSyncOptions as TopicReceiveSyncOptions,
  type MessageHandler as TopicMessageHandler,
} from './topic/topic';
export { TopicCorruptError, SubscriberDroppedError } from './topic/errors';

// What flows through every object of the pod, read without attaching (docs/observability.md)
export { collectStats, channelRates, type CollectStatsOptions, type StatsSnapshot, type ObjectStats, type StatsKind, type ChannelFigures, type ChannelRates, type TopicFigures, type SubscriberFigures, type ServiceFigures, type ClientFigures } from './admin/stats';

// The platform side: the doctor's report
export { diagnose, type DoctorReport, type Finding, type ShmReport, type EmptyDirAdvice } from './admin/doctor';
export { type KubernetesInfo } from './platform/kubernetes';

// Handing objects to worker_threads (docs/api.md, "Workers")
export { fromHandle, type Handle } from './core/handle';
export { type SharedMemoryHandle } from './shm/shared_memory';
export { type SysVSharedMemoryHandle } from './shm/sysv';
export { type MessageQueueHandle } from './mq/message_queue';
export { type MutexHandle } from './sync/mutex';
export { type SemaphoreHandle } from './sync/semaphore';
export { type ChannelHandle, type SenderHandle, type ReceiverHandle } from './channel/channel';

// Errors
export {
  PodshmError,
  type PodshmErrorCode,
  ArgumentError,
  SystemError,
  CapacityError,
  SysVCapacityError,
  type SysVCapacity,
  MqueueLimitError,
  AbortError,
  CorruptionError,
  ChannelCorruptError,
  PeerGoneError,
} from './core/errors';

// Request/response over shared memory (docs/service.md)
export {
  Service,
  type ServiceHandler,
  type ServiceOptions,
  type CallContext,
  type ResponseReservation,
  type ServiceSyncHandler,
  type SyncCallContext,
  type ServeSyncOptions,
} from './service/service';
export { Client, type ClientOptions, type CallOptions, type CallSyncOptions } from './service/client';

// Values instead of bytes, on every endpoint (docs/api.md, "Codecs")
export { CodecError, CodecMissingError, type Codec, type CodecOption } from './core/codec';
export { RemoteError } from './service/remote_error';
export { ServiceRecordError } from './service/protocol';

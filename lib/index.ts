export { SharedMemory, type CreateOptions, type OpenOptions } from './posix_shm';
export { probeLimits, type Limits, type ShmLimits, type MqueueLimits, type SysvLimits } from './limits';
export { type MemoryCgroup } from './cgroup';
export { PodshmError, SystemError, CapacityError } from './errors';
export { native as _native } from './native';
export { MessageQueue, type MessageQueueOptions, type Message, type Received, type QueueAttributes, type SendOptions, type ReceiveOptions, type AsyncOptions, type AsyncSendOptions } from './posix_mq';
export { MqueueLimitError } from './errors';
export { queueBytes as mqueueQueueBytes } from './mq_limits';

// The handles of a channel and its endpoints (lib/core/handle.ts): the channel's file,
// and for an endpoint what a new one needs, taken in the worker from the channel
// opened again there.
import type { ChannelCore } from './core';
import type { FileHandleFields, Handle } from '../core/handle';
import type { SharedMemory } from '../shm/shared_memory';
import type { Channel } from './channel';
import type { Sender } from './sender';
import type { Receiver, ReceiverOptions } from './receiver';

export interface ChannelHandle extends Handle<Channel>, FileHandleFields {
  readonly podshm: 'Channel';
}

/** fromHandle() opens the channel and takes a new producer of it, which closes the channel with it. */
export interface SenderHandle extends Handle<Sender>, FileHandleFields {
  readonly podshm: 'Sender';
  /** The sender's codec, a built-in's name. */
  readonly codec?: 'json' | 'v8' | 'msgpackr';
}

/** fromHandle() opens the channel and takes the consumer (EBUSY while the receiver it came from is open). */
export interface ReceiverHandle extends Handle<Receiver>, FileHandleFields {
  readonly podshm: 'Receiver';
  readonly producersGone: NonNullable<ReceiverOptions['producersGone']>;
  /** The receiver's codec, a built-in's name. */
  readonly codec?: 'json' | 'v8' | 'msgpackr';
}

/** The channel's file, as a handle names it; ENOENT once its name is gone. */
export function channelFields(core: ChannelCore): FileHandleFields {
  if (core.closed) throw core.closedError();
  // Peers is always given the channel's SharedMemory (channel.ts).
  const { name, dir, fileId } = (core.peers.file as SharedMemory).handle();
  return { name, dir, fileId };
}

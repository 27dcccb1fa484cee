import { PodshmError } from '../core/errors';
import type { WireError } from './protocol';

/**
 * A service's handler threw or rejected: its message, and its name and code as given
 * there. The stack is the other process's only if the service was made with
 * `remoteStack: true`; this error's own stack is the caller's.
 */
export class RemoteError extends PodshmError {
  /** The `name` of the handler's error ('Error', 'TypeError', ...). */
  readonly remoteName: string;
  /** The `code` of the handler's error, if it had a string one. */
  readonly remoteCode: string | undefined;
  /** The handler's stack, only when the service sends it. */
  readonly remoteStack: string | undefined;

  constructor(service: string, wire: WireError) {
    super(wire.message, 'ERR_REMOTE');
    this.remoteName = wire.name;
    this.remoteCode = wire.code;
    this.remoteStack = wire.stack;
    this.object = service;
  }

  /** The service's name. */
  declare readonly object: string;
}

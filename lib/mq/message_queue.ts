// POSIX message queues: named, kernel-held, prioritised messages between any processes
// of one IPC namespace (every container of a Kubernetes pod). Blocking calls block the
// thread; the async calls wait on the event loop (uv_poll on the queue descriptor), so
// waiting costs no thread, and pending calls are served in the order they were made.
import { constants } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { types } from 'node:util';

import { argType, argValue, SystemError, sys } from '../core/errors';
import { checkQueueLimits, defaultAttributes, explainCreateError, MQ_PRIO_MAX } from '../capacity/mq';
import { posixName } from '../core/names';
import { allowForeignOwner, checkOwner } from '../core/owner';
import { deadlineOf, onAbort, remaining } from '../core/timeout';
import { openWhenCreated, WAIT_KEYS, type WaitForCreationOptions } from '../core/created';
import { AbortError } from '../core/errors';
import { native, SLICED, type WatchHandle } from '../addon/native';
import { boolean, fileMode, integer, options, string } from '../core/validate';
import { WaitList, type Entry } from './wait_list';
import { SpinBudget, spinMax, SPIN_NS } from '../wait/spin';
import { refuseClone, revivable, type Handle } from '../core/handle';

export interface MessageQueueOpenOptions extends WaitForCreationOptions {
  /** Open for receiving only. */
  readOnly?: boolean;
  /** Open for sending only. */
  writeOnly?: boolean;
  /** Open a queue owned by another user (not root) instead of refusing it with EPERM. Default false. */
  allowForeignOwner?: boolean;
}

export interface MessageQueueCreateOptions {
  /** Fail with EEXIST if the queue exists (default). With false, an existing queue is opened instead. */
  exclusive?: boolean;
  /** Messages the queue holds before senders wait. Default: the namespace's msg_default (10). */
  maxMessages?: number;
  /** Largest message in bytes. Default: the namespace's msgsize_default (8192). */
  messageSize?: number;
  /** Permission bits, applied exactly (not filtered by the umask). Default 0o600. */
  mode?: number;
  /** Open for receiving only. */
  readOnly?: boolean;
  /** Open for sending only. */
  writeOnly?: boolean;
  /** With exclusive: false, open a queue owned by another user (not root) instead of refusing it with EPERM. Default false. */
  allowForeignOwner?: boolean;
}

const OPEN_KEYS = ['readOnly', 'writeOnly', 'allowForeignOwner', ...WAIT_KEYS] as const;
const CREATE_KEYS = ['exclusive', 'maxMessages', 'messageSize', 'mode', 'readOnly', 'writeOnly', 'allowForeignOwner'] as const;

export interface Message {
  data: Buffer;
  priority: number;
}

/** What receiveInto() wrote: `size` bytes at the start of the buffer. */
export interface Received {
  size: number;
  priority: number;
}

export interface QueueAttributes {
  maxMessages: number;
  messageSize: number;
  /** Messages waiting right now. */
  currentMessages: number;
}

export interface ReceiveSyncOptions {
  /** Milliseconds to wait for a message; ETIMEDOUT after. Default: for ever. */
  timeout?: number;
}

export interface ReceiveOptions extends ReceiveSyncOptions {
  /** Cancels the call (rejects with AbortError, the reason in `cause`); a cancelled receive never takes a message. */
  signal?: AbortSignal;
}

export interface SendSyncOptions extends ReceiveSyncOptions {
  /** 0 (lowest, default) to 32767; higher priorities are received first. */
  priority?: number;
}

export interface SendOptions extends ReceiveOptions {
  /** 0 (lowest, default) to 32767; higher priorities are received first. */
  priority?: number;
}

const READABLE = 1;
const WRITABLE = 2;
const EAGAIN = -osConstants.errno.EAGAIN;
const EINTR = -osConstants.errno.EINTR;
const ETIMEDOUT = -osConstants.errno.ETIMEDOUT;
const PRIORITY_RADIX = 32768;
const MAX_TIMEOUT = 2 ** 31 - 1;

interface Pending extends Entry {
  resolve(value: unknown): void;
  reject(err: unknown): void;
  timer: NodeJS.Timeout | undefined;
  signal: AbortSignal | undefined;
  /** Stops watching `signal`: called when the call settles. */
  unwatch: (() => void) | undefined;
  /** Set when the call starts waiting: takes it out and rejects it with `reason`. */
  cancel(reason: unknown): void;
}

interface PendingReceive extends Pending {
  /** The caller's buffer (receiveInto), or null to return a new Buffer. */
  target: Uint8Array | null;
}

interface PendingSend extends Pending {
  data: Uint8Array;
  priority: number;
}

// The channel's budget: a queue's answer costs the same wake-up a channel's does.
const SPIN_MAX_NS = spinMax(SPIN_NS);

/**
 * Runs a blocking native call until it is not cut short. The addon first tries for
 * `budget`'s spin (none on one CPU), and the whole call then judges the spin, as every
 * spin before a blocking wait is judged (lib/wait/spin.ts): a handoff between running
 * processes keeps the full spin and catches its answers without a sleep and a wake-up,
 * a peer that answers seldom shrinks it. On a Worker's thread the addon waits at most a
 * slice per call, so that JavaScript runs in between and a Worker being terminated is
 * not stuck in a system call; it answers -EINTR when a slice ends, a signal came, or the
 * wall clock (the only one mq_timed*() take) was stepped forward.
 */
function blocking(budget: SpinBudget, timeout: number | undefined, call: (ms: number, spinNs: number) => number): number {
  // Nothing to judge without a spin (one CPU, or a try): no clock read either.
  const judged = timeout !== 0 && budget.max > 0;
  const start = judged ? performance.now() : 0;
  const deadline = deadlineOf(timeout ?? Infinity);
  let ms = timeout ?? -1;
  // Whole ns for the addon: a halved budget need not be one.
  let spinNs = Math.ceil(budget.ns);
  for (;;) {
    const r = call(ms, spinNs);
    if (r !== EINTR) {
      if (judged) judge(budget, spinNs, r >= 0 ? performance.now() - start : Infinity);
      return r;
    }
    spinNs = 0;
    const left = remaining(deadline);
    // Out of time between two slices: that is a timeout, not a full (or empty) queue.
    if (left === 0) {
      if (judged) budget.missed(Infinity);
      return ETIMEDOUT;
    }
    ms = left === Infinity ? -1 : left;
  }
}

// A call no longer than its spin ended within it (or found the queue ready at once).
function judge(budget: SpinBudget, spinNs: number, tookMs: number): void {
  if (tookMs * 1e6 <= spinNs) budget.hit();
  else budget.missed(tookMs);
}

function timeoutOption(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number') throw argType('timeout', 'of type number', value);
  if (!(value >= 0 && value <= MAX_TIMEOUT)) throw argValue('timeout', `must be >= 0 and <= ${MAX_TIMEOUT} (milliseconds)`, value);
  return value;
}

function signalOption(value: unknown): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof AbortSignal)) throw argType('signal', 'an instance of AbortSignal', value);
  return value;
}

function priorityOption(value: unknown): number {
  return value === undefined ? 0 : integer('priority', value, 0, MQ_PRIO_MAX - 1);
}

function bytesOf(data: unknown): Uint8Array {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (types.isUint8Array(data)) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw argType('data', 'a string, Buffer, Uint8Array or other ArrayBufferView', data);
}

export class MessageQueue implements Disposable, AsyncIterable<Message> {
  /** The canonical name, with its leading slash. */
  readonly name: string;
  readonly maxMessages: number;
  readonly messageSize: number;
  readonly readOnly: boolean;
  readonly writeOnly: boolean;
  #fd: number;
  readonly #handle: WatchHandle;
  // The native handle holds this weakly while idle, so the queue must keep it alive.
  readonly #pollCallback = (status: number, events: number) => this.#onPoll(status, events);
  #scratch: Buffer | null = null;
  readonly #receivers = new WaitList<PendingReceive>();
  readonly #senders = new WaitList<PendingSend>();
  #events = 0;
  // The spins of the blocking calls, one per direction.
  readonly #receiveSpin = new SpinBudget(SPIN_MAX_NS);
  readonly #sendSpin = new SpinBudget(SPIN_MAX_NS);

  private constructor(name: string, fd: number, readOnly: boolean, writeOnly: boolean) {
    this.name = name;
    this.readOnly = readOnly;
    this.writeOnly = writeOnly;
    this.#fd = fd;
    refuseClone(this, 'MessageQueue');
    // From here on the handle owns the descriptor (and closes it if this object is
    // collected without close()).
    this.#handle = native.fdWatch.adopt(fd, this.#pollCallback);
    try {
      const attrs = sys(name, () => native.mq.attributes(fd));
      this.maxMessages = attrs.maxMessages;
      this.messageSize = attrs.messageSize;
    } catch (err) {
      native.fdWatch.close(this.#handle);
      throw err;
    }
  }

  /**
   * Opens an existing queue; with `wait: true`, resolves once another process has
   * created it (retried at growing intervals up to 1 s: the mqueue file system seen here
   * may belong to another IPC namespace, so its changes are not watched).
   */
  static open(name: string, opts: MessageQueueOpenOptions & { wait: true }): Promise<MessageQueue>;
  static open(name: string, opts?: MessageQueueOpenOptions & { wait?: false }): MessageQueue;
  static open(name: string, opts?: MessageQueueOpenOptions): MessageQueue | Promise<MessageQueue> {
    const o = options<MessageQueueOpenOptions>(opts, OPEN_KEYS);
    if (o.wait === true) {
      const existing = { readOnly: o.readOnly, writeOnly: o.writeOnly, allowForeignOwner: o.allowForeignOwner };
      return openWhenCreated(() => MessageQueue.#openOrCreate(name, existing, false), null, { timeout: o.timeout, signal: o.signal }, 'mq_open', name);
    }
    return MessageQueue.#openOrCreate(name, o, false);
  }

  /**
   * Creates a queue (EEXIST if the name is taken, unless `exclusive: false`). Creation
   * checks maxMessages and messageSize against the limits of this IPC namespace and user
   * first, and refuses with an MqueueLimitError that gives the numbers and the fix.
   */
  static create(name: string, opts?: MessageQueueCreateOptions): MessageQueue {
    return MessageQueue.#openOrCreate(name, options<MessageQueueCreateOptions>(opts, CREATE_KEYS), true);
  }

  static #openOrCreate(name: string, o: MessageQueueCreateOptions, create: boolean): MessageQueue {
    const canonical = posixName(name, 'mq_open');
    const readOnly = boolean('readOnly', o.readOnly, false);
    const writeOnly = boolean('writeOnly', o.writeOnly, false);
    if (readOnly && writeOnly) throw argValue('writeOnly', 'cannot be true with readOnly', writeOnly);
    const access = readOnly ? constants.O_RDONLY : writeOnly ? constants.O_WRONLY : constants.O_RDWR;
    const foreign = allowForeignOwner(o.allowForeignOwner);
    const openExisting = (): MessageQueue => {
      const fd = sys(canonical, () => native.mq.open(canonical, access, 0, 0, 0));
      try {
        checkOwner(sys(canonical, () => native.fd.stat(fd)).uid, foreign, 'mq_open', canonical);
      } catch (err) {
        native.fd.close(fd);
        throw err;
      }
      return new MessageQueue(canonical, fd, readOnly, writeOnly);
    };
    if (!create) return openExisting();
    const exclusive = boolean('exclusive', o.exclusive, true);
    const defaults = defaultAttributes();
    const maxMessages = o.maxMessages === undefined ? defaults.maxMessages : integer('maxMessages', o.maxMessages, 1);
    const messageSize = o.messageSize === undefined ? defaults.messageSize : integer('messageSize', o.messageSize, 1);
    const mode = o.mode === undefined ? 0o600 : fileMode(o.mode);

    // Open-or-create without O_CREAT alone, so that we know whether we made the
    // queue (and so may set its mode) and never check limits for one that exists.
    for (let attempt = 0; ; attempt++) {
      if (!exclusive) {
        try {
          const queue = openExisting();
          if (o.messageSize !== undefined && queue.messageSize < messageSize) {
            queue.close();
            throw new SystemError('EINVAL', 'mq_open', canonical, `exists with messageSize ${queue.messageSize}, smaller than the ${messageSize} asked for`);
          }
          return queue;
        } catch (err) {
          if ((err as SystemError).code !== 'ENOENT') throw err;
        }
      }
      if (attempt === 0) {
        try {
          checkQueueLimits(canonical, maxMessages, messageSize);
        } catch (err) {
          // The kernel looks for the name before the limits: an exclusive create of a
          // queue that exists is EEXIST, whatever it asks for.
          if (exclusive && queueExists(canonical)) throw new SystemError('EEXIST', 'mq_open', canonical);
          throw err;
        }
      }
      let fd: number;
      try {
        fd = sys(canonical, () => native.mq.open(canonical, access | constants.O_CREAT | constants.O_EXCL, mode, maxMessages, messageSize));
      } catch (err) {
        // Another process created it between our open and our create: open theirs.
        if (!exclusive && (err as SystemError).code === 'EEXIST' && attempt < 3) continue;
        throw explainCreateError(err, canonical, maxMessages, messageSize);
      }
      const queue = new MessageQueue(canonical, fd, readOnly, writeOnly);
      try {
        sys(canonical, () => native.fd.setMode(fd, mode));
      } catch (err) {
        queue.close();
        MessageQueue.unlink(canonical);
        throw err;
      }
      return queue;
    }
  }

  /** Removes the name; processes that have the queue open keep using it. ENOENT if there is none. */
  static unlink(name: string): void {
    const canonical = posixName(name, 'mq_unlink');
    sys(canonical, () => native.mq.unlink(canonical));
  }

  /** Removes this queue's name (see MessageQueue.unlink). */
  unlink(): void {
    MessageQueue.unlink(this.name);
  }

  get closed(): boolean {
    return this.#fd < 0;
  }

  /** The kernel's current view: limits and the number of messages waiting. */
  get attributes(): QueueAttributes {
    const fd = this.#open('mq_getattr');
    return sys(this.name, () => native.mq.attributes(fd));
  }

  /**
   * Sends a message, waiting on the event loop up to `timeout` ms for room. Calls that
   * wait are served in the order they were made; the data is copied when the call has
   * to wait.
   */
  send(data: ArrayBufferView | string, opts?: SendOptions): Promise<void> {
    try {
      const o = options<SendOptions>(opts, ['priority', 'timeout', 'signal']);
      const bytes = this.#message(data);
      const priority = priorityOption(o.priority);
      const timeout = timeoutOption(o.timeout);
      const signal = signalOption(o.signal);
      const fd = this.#writable();
      if (signal?.aborted) return Promise.reject(new AbortError(signal.reason));
      if (this.#senders.size === 0 && sys(this.name, () => native.mq.send(fd, bytes, priority, 0, false, 0)) === 0) return Promise.resolve();
      if (timeout === 0) return Promise.reject(this.#timedOut('mq_timedsend', 0));
      return new Promise<void>((resolve, reject) => {
        const entry: PendingSend = { prev: null, next: null, resolve: resolve as (v: unknown) => void, reject, timer: undefined, signal, unwatch: undefined, cancel: noop, data: Buffer.from(bytes), priority };
        this.#enqueue(this.#senders, entry, timeout, () => this.#timedOut('mq_timedsend', timeout!));
      });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** send() blocking this thread instead. */
  sendSync(data: ArrayBufferView | string, opts?: SendSyncOptions): void {
    const o = options<SendSyncOptions>(opts, ['priority', 'timeout']);
    const bytes = this.#message(data);
    const priority = priorityOption(o.priority);
    const timeout = timeoutOption(o.timeout);
    const fd = this.#writable();
    const r = blocking(this.#sendSpin, timeout, (ms, spinNs) => sys(this.name, () => native.mq.send(fd, bytes, priority, ms, SLICED, spinNs)));
    if (r === EAGAIN || r === ETIMEDOUT) throw this.#timedOut('mq_timedsend', timeout!);
  }

  /** Sends without waiting; false when the queue is full. */
  trySend(data: ArrayBufferView | string, opts?: { priority?: number }): boolean {
    const bytes = this.#message(data);
    const priority = priorityOption(options<SendSyncOptions>(opts, ['priority']).priority);
    const fd = this.#writable();
    return sys(this.name, () => native.mq.send(fd, bytes, priority, 0, false, 0)) === 0;
  }

  /** Receives the highest-priority (then oldest) message, waiting on the event loop; pending calls are served in the order they were made. */
  receive(opts?: ReceiveOptions): Promise<Message> {
    return this.#receiveAsync(null, opts) as Promise<Message>;
  }

  /** receive() blocking this thread instead. */
  receiveSync(opts?: ReceiveSyncOptions): Message {
    const timeout = timeoutOption(options<ReceiveSyncOptions>(opts, ['timeout']).timeout);
    const scratch = this.#scratchBuffer();
    return this.#copy(this.#receiveBlocking(scratch, timeout), scratch);
  }

  /** Receives without waiting; null when the queue is empty. */
  tryReceive(): Message | null {
    const scratch = this.#scratchBuffer();
    const r = this.#receiveNow(scratch);
    return r < 0 ? null : this.#copy(r, scratch);
  }

  /**
   * Receives into `buffer` (at least messageSize bytes) with no allocation for the
   * data: the message is buffer[0, size). Do not touch `buffer` until the promise settles.
   */
  receiveInto(buffer: Uint8Array, opts?: ReceiveOptions): Promise<Received> {
    try {
      return this.#receiveAsync(this.#target(buffer), opts) as Promise<Received>;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** receiveInto() blocking this thread. */
  receiveIntoSync(buffer: Uint8Array, opts?: ReceiveSyncOptions): Received {
    const timeout = timeoutOption(options<ReceiveSyncOptions>(opts, ['timeout']).timeout);
    return decode(this.#receiveBlocking(this.#target(buffer), timeout));
  }

  /** receiveInto() without waiting; null when the queue is empty. */
  tryReceiveInto(buffer: Uint8Array): Received | null {
    const r = this.#receiveNow(this.#target(buffer));
    return r < 0 ? null : decode(r);
  }

  /** Yields every message until the queue is closed (then the loop ends). */
  async *[Symbol.asyncIterator](): AsyncGenerator<Message, void, undefined> {
    while (this.#fd >= 0) {
      let message: Message;
      try {
        message = await this.receive();
      } catch (err) {
        if (this.#fd < 0 && (err as SystemError).code === 'EBADF') return;
        throw err;
      }
      yield message;
    }
  }

  /**
   * Closes this process's descriptor. Pending async calls reject with EBADF (a
   * for-await loop ends). The queue and its messages stay. Safe to call twice.
   */
  close(): void {
    if (this.#fd < 0) return;
    this.#fd = -1;
    for (const list of [this.#receivers, this.#senders] as WaitList<Pending>[]) {
      for (let e = list.first; e; e = list.first) {
        this.#finish(list, e);
        e.reject(this.#closedError(list === (this.#receivers as WaitList<Pending>) ? 'mq_receive' : 'mq_send'));
      }
    }
    this.#events = 0;
    native.fdWatch.close(this.#handle);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #receiveAsync(target: Uint8Array | null, opts: unknown): Promise<Message | Received> {
    try {
      const o = options<ReceiveOptions>(opts, ['timeout', 'signal']);
      const timeout = timeoutOption(o.timeout);
      const signal = signalOption(o.signal);
      this.#readable();
      if (signal?.aborted) return Promise.reject(new AbortError(signal.reason));
      if (this.#receivers.size === 0) {
        const buffer = target ?? this.#scratchBuffer();
        const r = this.#receiveNow(buffer);
        if (r >= 0) return Promise.resolve(target ? decode(r) : this.#copy(r, buffer));
      }
      if (timeout === 0) return Promise.reject(this.#timedOut('mq_timedreceive', 0));
      return new Promise((resolve, reject) => {
        const entry: PendingReceive = { prev: null, next: null, resolve, reject, timer: undefined, signal, unwatch: undefined, cancel: noop, target };
        this.#enqueue(this.#receivers, entry, timeout, () => this.#timedOut('mq_timedreceive', timeout!));
      });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  #enqueue<T extends Pending>(list: WaitList<T>, entry: T, timeout: number | undefined, timedOut: () => SystemError): void {
    list.push(entry);
    entry.cancel = (reason) => {
      this.#finish(list, entry);
      entry.reject(reason);
      this.#rewatch();
    };
    if (timeout !== undefined) entry.timer = setTimeout(() => entry.cancel(timedOut()), timeout);
    const signal = entry.signal;
    if (signal) entry.unwatch = onAbort(signal, () => entry.cancel(new AbortError(signal.reason)));
    this.#rewatch();
  }

  /** Takes a pending call out of its list; it settles once, whoever gets here first. */
  #finish<T extends Pending>(list: WaitList<T>, entry: T): void {
    list.remove(entry);
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = undefined;
    entry.unwatch?.();
    entry.unwatch = undefined;
  }

  // Called by the poll handle: serve pending calls in order while the kernel allows.
  #onPoll(status: number, events: number): void {
    if (this.#fd < 0) return;
    if (status < 0) {
      const err = SystemError.from(Object.assign(new Error(), { code: codeOf(status), syscall: 'epoll_wait' }), this.name);
      for (const list of [this.#receivers, this.#senders] as WaitList<Pending>[]) {
        for (let e = list.first; e; e = list.first) {
          this.#finish(list, e);
          e.reject(err);
        }
      }
    }
    if (events & READABLE) this.#serveReceivers();
    if (events & WRITABLE) this.#serveSenders();
    this.#rewatch();
  }

  #serveReceivers(): void {
    this.#serve(
      this.#receivers,
      (e) => native.mq.receive(this.#fd, e.target ?? this.#scratchBuffer(), 0, false, 0),
      (e, r) => e.resolve(e.target ? decode(r) : this.#copy(r, this.#scratchBuffer())),
    );
  }

  #serveSenders(): void {
    this.#serve(
      this.#senders,
      (e) => native.mq.send(this.#fd, e.data, e.priority, 0, false, 0),
      (e) => e.resolve(undefined),
    );
  }

  /** Serves pending calls in the order they were made, until one would have to wait. */
  #serve<T extends Pending>(list: WaitList<T>, attempt: (e: T) => number, settle: (e: T, r: number) => void): void {
    for (let e = list.first; e && this.#fd >= 0; e = list.first) {
      const entry = e;
      let r: number;
      try {
        r = sys(this.name, () => attempt(entry));
      } catch (err) {
        this.#finish(list, entry);
        entry.reject(err);
        continue;
      }
      if (r < 0) return;
      this.#finish(list, entry);
      settle(entry, r);
    }
  }

  /** Watches for exactly what pending calls need; with none pending the loop is free to exit. */
  #rewatch(): void {
    if (this.#fd < 0) return;
    const events = (this.#receivers.size ? READABLE : 0) | (this.#senders.size ? WRITABLE : 0);
    if (events === this.#events) return;
    native.fdWatch.watch(this.#handle, events);
    this.#events = events;
  }

  #receiveNow(target: Uint8Array): number {
    const fd = this.#readable();
    return sys(this.name, () => native.mq.receive(fd, target, 0, false, 0));
  }

  #receiveBlocking(target: Uint8Array, timeout: number | undefined): number {
    const fd = this.#readable();
    const r = blocking(this.#receiveSpin, timeout, (ms, spinNs) => sys(this.name, () => native.mq.receive(fd, target, ms, SLICED, spinNs)));
    if (r === EAGAIN || r === ETIMEDOUT) throw this.#timedOut('mq_timedreceive', timeout!);
    return r;
  }

  #copy(r: number, scratch: Uint8Array): Message {
    const { size, priority } = decode(r);
    const data = Buffer.allocUnsafe(size);
    data.set(scratch.subarray(0, size));
    return { data, priority };
  }

  #scratchBuffer(): Buffer {
    return (this.#scratch ??= Buffer.allocUnsafe(this.messageSize));
  }

  #target(buffer: unknown): Uint8Array {
    if (!types.isUint8Array(buffer)) throw argType('buffer', 'a Buffer or Uint8Array', buffer);
    if (buffer.byteLength < this.messageSize) {
      throw argValue('buffer', `must hold messageSize (${this.messageSize}) bytes; it has ${buffer.byteLength}`, buffer);
    }
    return buffer;
  }

  #message(data: unknown): Uint8Array {
    const bytes = bytesOf(data);
    if (bytes.byteLength > this.messageSize) {
      throw new SystemError('EMSGSIZE', 'mq_send', this.name, `message of ${bytes.byteLength} bytes is larger than the queue's messageSize of ${this.messageSize}`);
    }
    return bytes;
  }

  #open(syscall: string): number {
    if (this.#fd < 0) throw this.#closedError(syscall);
    return this.#fd;
  }

  #readable(): number {
    const fd = this.#open('mq_receive');
    if (this.writeOnly) throw new SystemError('EBADF', 'mq_receive', this.name, 'the queue was opened writeOnly');
    return fd;
  }

  #writable(): number {
    const fd = this.#open('mq_send');
    if (this.readOnly) throw new SystemError('EBADF', 'mq_send', this.name, 'the queue was opened readOnly');
    return fd;
  }

  #closedError(syscall: string): SystemError {
    return new SystemError('EBADF', syscall, this.name, 'the queue is closed');
  }

  #timedOut(syscall: string, timeout: number): SystemError {
    const what = syscall === 'mq_timedsend' ? 'no room in the queue' : 'no message';
    return new SystemError('ETIMEDOUT', syscall, this.name, `${what} within ${timeout} ms`);
  }

  /**
   * A plain object naming this queue, to post to a Worker, where fromHandle() opens it
   * again with the same access (docs/api.md, "Workers").
   */
  handle(): MessageQueueHandle {
    const fd = this.#open('mq_open');
    return { podshm: 'MessageQueue', name: this.name, fileId: sys(this.name, () => native.fd.stat(fd)).fileId, readOnly: this.readOnly, writeOnly: this.writeOnly };
  }

  static {
    revivable('MessageQueue', ['name', 'fileId', 'readOnly', 'writeOnly'], (h) => {
      const fileId = string('handle.fileId', h.fileId);
      // The owner was checked when the queue was first opened: the fileId proves it is that queue.
      const queue = MessageQueue.#openOrCreate(string('handle.name', h.name), { readOnly: h.readOnly as boolean, writeOnly: h.writeOnly as boolean, allowForeignOwner: true }, false);
      if (sys(queue.name, () => native.fd.stat(queue.#fd)).fileId !== fileId) {
        queue.close();
        throw new SystemError('ENOENT', 'mq_open', queue.name, 'the name names another queue now: the one the handle was made for was unlinked');
      }
      return queue;
    });
  }
}

/** What handle() of a MessageQueue gives. */
export interface MessageQueueHandle extends Handle<MessageQueue> {
  readonly podshm: 'MessageQueue';
  readonly name: string;
  /** "dev:ino" of the queue: a name that now names another queue is refused (ENOENT). */
  readonly fileId: string;
  readonly readOnly: boolean;
  readonly writeOnly: boolean;
}

function noop(): void {}

/** Whether a queue of this name exists (one this user may not open exists too). */
function queueExists(canonical: string): boolean {
  try {
    native.fd.close(native.mq.open(canonical, constants.O_RDONLY, 0, 0, 0));
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EACCES';
  }
}

function decode(r: number): Received {
  return { size: Math.floor(r / PRIORITY_RADIX), priority: r % PRIORITY_RADIX };
}

function codeOf(status: number): string {
  return Object.entries(osConstants.errno).find(([, v]) => v === -status)?.[0] ?? 'EIO';
}

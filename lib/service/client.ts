// The calling side of a service (docs/service.md): requests go into the service's
// request ring, shared by every client; responses come back in this client's own ring,
// so a slow client never delays another. A client is on the event loop only while it
// has calls in flight.
import { Channel, type Receiver, type Reservation, type Sender, type WaitStrategy } from '../channel/channel';
import { AbortError, PeerGoneError, PodshmError, SystemError, argType } from '../core/errors';
import { posixName } from '../core/names';
import { abortSignal, deadlineOf, onAbort, remaining, timeoutMs } from '../core/timeout';
import { boolean, options } from '../core/validate';
import { decodeWith, encodeWith, resolveCodec, type BoundCodec, type CodecOption } from '../core/codec';
import { SLICE_MS } from '../wait/loop';
import { LIVENESS_REGIONS, LivenessProbe } from '../liveness/presence';
import { objectFile } from '../shm/shared_memory';
import { DeathNotice } from './death_notice';
import { CallFigures, ROLE_CLIENT } from './figures';
import { CALL, CANCEL, OK, REQUEST_HEADER, RESPONSE_HEADER, clientRingName, decodeError, newClientId, readResponse, writeRequest } from './protocol';
import { RemoteError } from './remote_error';

export interface ClientOptions {
  /** Bytes of this client's response ring (a power of two, 4 KiB to 1 GiB); the largest response is capacity / 2 - 24. Default 256 KiB. */
  capacity?: number;
  /** Permission bits of the response ring. Default 0o600. */
  mode?: number;
  /** Directory of the tmpfs holding the rings. Default /dev/shm. */
  dir?: string;
  /** Called with a record in the response ring that no server writes (it is skipped). Default: process.emitWarning. */
  onError?: (err: Error) => void;
  /** Requests and responses are values through this codec (docs/api.md, "Codecs"); the service must use the same. Default: none, bytes. */
  codec?: CodecOption;
  /** How this client waits for responses: its response ring's `wait` (docs/channel.md). Default 'block', as Service's. */
  wait?: WaitStrategy;
}

export interface CallSyncOptions {
  /** Milliseconds until the call throws ETIMEDOUT (the server is told, and its handler's signal aborts). Default: no limit. */
  timeout?: number;
  /** While no server is up: true (default) sends the call for the next server, within the timeout; false throws PeerGoneError at once. */
  waitForServer?: boolean;
}

export interface CallOptions {
  /** Milliseconds until the call rejects with ETIMEDOUT (the server is told, and its handler's signal aborts). Default: no limit. */
  timeout?: number;
  /** Rejects the call with AbortError (the server is told likewise). */
  signal?: AbortSignal;
  /** While no server is up: true (default) sends the call for the next server, within the timeout; false rejects with PeerGoneError at once. */
  waitForServer?: boolean;
}

const KEYS = ['capacity', 'mode', 'dir', 'onError', 'codec', 'wait'] as const;
const CALL_KEYS = ['timeout', 'signal', 'waitForServer'] as const;
const CALL_SYNC_KEYS = ['timeout', 'waitForServer'] as const;
// callSync() waiting for a server's request ring to appear: looks at the name this often at most.
const OPEN_RETRY_MS = SLICE_MS;
const DEFAULT_CAPACITY = 256 * 1024;
// Requests up to this size are built here and sent whole (trySend): no Reservation object.
const SCRATCH_BYTES = 4096;

interface Call {
  readonly resolve: (response: unknown) => void;
  readonly reject: (err: Error) => void;
  /** The server generation it was sent to while that server was up, else -1. */
  epoch: number;
  sent: boolean;
  /** When it times out (performance.now() ms; Infinity: never), and its timeout. */
  due: number;
  ms: number;
  signal: AbortSignal | undefined;
  /** Stops watching `signal`: called when the call settles. */
  unwatch: (() => void) | undefined;
}

/** A client: `Req` is what it sends, `Res` what a call resolves with; bytes unless it has a codec. */
export class Client<Req = ArrayBufferView, Res = Uint8Array> implements Disposable {
  /** The service's name, with its leading slash. */
  readonly name: string;
  /** This client's id: its ring is `${name}.client.${id}`. */
  readonly id: string;
  readonly #idBytes: Uint8Array;
  readonly #dir: string | undefined;
  readonly #onError: (err: Error) => void;
  readonly #codec: BoundCodec | null;
  readonly #ring: Channel;
  readonly #rx: Receiver;
  readonly #calls = new Map<number, Call>();
  readonly #figures: CallFigures;
  readonly #scratch = new Uint8Array(SCRATCH_BYTES);
  #requests: Channel | null = null;
  /** "dev:ino" of the request ring #requests is, to tell it from a new ring under its name. */
  #requestsFile = '';
  #tx: Sender | null = null;
  /** A watch on the server now serving, while one is known to be up. */
  #server: DeathNotice | null = null;
  /** Bumped at each server's end: calls sent to the one that ended carry the old value. */
  #epoch = 0;
  #nextId = 0;
  #pump: AbortController | null = null;
  /** The stop signal of a pump that waits in receiveView(): only an abort ends that wait. */
  #asleep: AbortSignal | null = null;
  #idleCheck = false;
  #closed = false;
  // One timer for every call's timeout, due at the earliest: a timer per call was a
  // tenth of what a call allocated. Unreferenced while no call is in flight.
  #deadlines: NodeJS.Timeout | null = null;
  #deadlinesDue = Infinity;

  private constructor(name: string, o: Partial<ClientOptions>, codec: BoundCodec | null) {
    this.name = name;
    this.#codec = codec;
    this.id = newClientId();
    this.#idBytes = Buffer.from(this.id, 'hex');
    this.#dir = o.dir;
    this.#onError = o.onError ?? ((err) => process.emitWarning(err));
    this.#ring = Channel.create(clientRingName(name, this.id), { capacity: o.capacity ?? DEFAULT_CAPACITY, producers: 'single', mode: o.mode, dir: o.dir, wait: o.wait ?? 'block' });
    try {
      this.#rx = this.#ring.receiver();
      this.#figures = new CallFigures(this.#ring, ROLE_CLIENT);
    } catch (err) {
      this.#ring.close();
      Channel.unlink(this.#ring.name, { dir: o.dir });
      throw err;
    }
  }

  /** A client of the service `name` with a new response ring; the service need not be up yet. */
  static connect<Req = unknown, Res = unknown>(name: string, opts: ClientOptions & { codec: CodecOption }): Client<Req, Res>;
  static connect(name: string, opts?: ClientOptions): Client;
  static connect(name: string, opts?: ClientOptions): Client<unknown, unknown> {
    const canonical = posixName(name, 'shm_open');
    const o = options<ClientOptions>(opts, KEYS);
    if (o.onError !== undefined && typeof o.onError !== 'function') throw argType('onError', 'a function', o.onError);
    return new Client<unknown, unknown>(canonical, o, resolveCodec(o.codec));
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Calls sent and not yet answered. */
  get inFlight(): number {
    return this.#calls.size;
  }

  /**
   * Sends `payload` to the service and resolves with its response, a copy that is the
   * caller's (with a codec, its value). Rejects with ETIMEDOUT, AbortError, PeerGoneError
   * (the server that took the call ended first), RemoteError (the handler threw),
   * EMSGSIZE, CodecError.
   */
  call(payload: Req, opts?: CallOptions): Promise<Res> {
    let bytes: Uint8Array;
    let ms: number;
    let signal: AbortSignal | undefined;
    let waitForServer: boolean;
    try {
      bytes = this.#payload(payload);
      const o = options<CallOptions>(opts, CALL_KEYS);
      ms = timeoutMs(o.timeout);
      signal = abortSignal(o.signal);
      waitForServer = boolean('waitForServer', o.waitForServer, true);
      if (this.#closed) throw this.#closedError();
      if (signal?.aborted) throw new AbortError(signal.reason);
    } catch (err) {
      return Promise.reject(err);
    }
    const id = this.#newId();
    const deadline = ms === Infinity ? Infinity : Date.now() + ms;
    const perfDeadline = deadlineOf(ms);
    return new Promise<Res>((resolve, reject) => {
      const call: Call = { resolve: resolve as (response: unknown) => void, reject, epoch: -1, sent: false, due: perfDeadline, ms, signal, unwatch: undefined };
      this.#calls.set(id, call);
      this.#figures.started();
      if (ms !== Infinity) this.#timeOut(perfDeadline);
      if (signal !== undefined) call.unwatch = onAbort(signal, () => this.#finish(id, new AbortError(signal.reason), null));
      let attempt: number;
      try {
        attempt = this.#trySend(id, call, bytes, deadline, waitForServer);
      } catch (err) {
        this.#finish(id, err as Error, null);
        return;
      }
      if (attempt < 0) {
        call.sent = true;
        this.#busy();
        return;
      }
      this.#send(attempt, id, call, bytes, deadline, perfDeadline, waitForServer).then(
        () => {
          call.sent = true;
          // Given up while it was being sent: tell the server.
          if (this.#calls.get(id) !== call) this.#cancel(id);
          else this.#busy();
        },
        (err: Error) => this.#finish(id, err, null),
      );
    });
  }

  /**
   * call() blocking this thread (a worker that may block, never an event loop that
   * serves others): returns the response or throws what call() rejects with. The
   * server's end is noticed within SLICE_MS (100 ms), a look between sleeps. EBUSY while
   * calls made with call() are in flight on this client: their responses are read on the
   * event loop.
   */
  callSync(payload: Req, opts?: CallSyncOptions): Res {
    const bytes = this.#payload(payload);
    const o = options<CallSyncOptions>(opts, CALL_SYNC_KEYS);
    const ms = timeoutMs(o.timeout);
    const waitForServer = boolean('waitForServer', o.waitForServer, true);
    if (this.#closed) throw this.#closedError();
    if (this.#asleep !== null || this.#calls.size > 0) {
      throw new SystemError('EBUSY', 'service', this.name, 'calls made with call() are in flight on this client: callSync() waits for them to settle, or use another client');
    }
    // A pump still awake for its callers' turn has nothing left to read.
    this.#pump?.abort();
    this.#pump = null;
    const id = this.#newId();
    const deadline = ms === Infinity ? Infinity : Date.now() + ms;
    const perfDeadline = deadlineOf(ms);
    let outcome: { value: unknown } | { error: Error } | null = null;
    const call: Call = { resolve: (value) => (outcome = { value }), reject: (error) => (outcome = { error }), epoch: -1, sent: false, due: Infinity, ms, signal: undefined, unwatch: undefined };
    this.#calls.set(id, call);
    this.#figures.started();
    try {
      this.#sendSync(call, id, bytes, deadline, perfDeadline, waitForServer);
      call.sent = true;
      while (outcome === null) this.#awaitSync(id, call, perfDeadline, ms);
    } catch (err) {
      this.#finish(id, err as Error, null);
    }
    const settled = outcome as { value: unknown } | { error: Error } | null;
    if (settled === null || 'error' in settled) throw settled?.error ?? this.#closedError();
    return settled.value as Res;
  }

  /** Rejects the calls in flight (EBADF), and removes this client's ring. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const id of [...this.#calls.keys()]) this.#finish(id, this.#closedError(), null);
    if (this.#deadlines !== null) clearTimeout(this.#deadlines);
    this.#deadlines = null;
    this.#pump?.abort();
    this.#server?.close();
    this.#server = null;
    this.#dropRequests();
    this.#rx.close();
    this.#ring.close();
    try {
      Channel.unlink(this.#ring.name, { dir: this.#dir });
    } catch (err) {
      // A server that saw this client end may have removed it first.
      if (!(err instanceof PodshmError && err.code === 'ENOENT')) throw err;
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }

  // #send()'s first attempt in this turn, if the request ring is open and has room (no
  // promise made): -1 once sent, else the attempt #send() goes on with (1 after a ring
  // that was closed or removed).
  #trySend(id: number, call: Call, bytes: Uint8Array, deadline: number, waitForServer: boolean): number {
    const tx = this.#tx;
    if (tx === null) return 0;
    const size = this.#requestSize(tx, bytes);
    if (size > SCRATCH_BYTES) {
      let r: Reservation | null;
      try {
        r = tx.tryReserve(size);
      } catch (err) {
        return this.#refused(err);
      }
      if (r === null) return 0;
      return this.#place(r, 0, call, id, bytes, deadline, waitForServer) ? -1 : 1;
    }
    const up = this.#admit(0, waitForServer);
    if (up === null) {
      this.#dropRequests();
      return 1;
    }
    const scratch = this.#scratch;
    writeRequest(scratch, CALL, this.#idBytes, id, deadline);
    scratch.set(bytes, REQUEST_HEADER);
    try {
      if (!tx.trySend(scratch.subarray(0, size))) return 0;
    } catch (err) {
      return this.#refused(err);
    }
    call.epoch = up ? this.#epoch : -1;
    return -1;
  }

  // The ring of a server that closed refuses a call (PeerGoneError): let it go, and go
  // on with attempt 1, which opens the next server's.
  #refused(err: unknown): number {
    if (!(err instanceof PeerGoneError)) throw err;
    this.#dropRequests();
    return 1;
  }

  async #send(first: number, id: number, call: Call, bytes: Uint8Array, deadline: number, perfDeadline: number, waitForServer: boolean): Promise<void> {
    // A second attempt after the server closed and removed its ring: the next server makes a new one.
    for (let attempt = first; ; attempt++) {
      const tx = this.#tx ?? (await this.#openRequests(perfDeadline, call.signal, waitForServer));
      if (this.#calls.get(id) !== call) return;
      const size = this.#requestSize(tx, bytes);
      let r: Reservation;
      try {
        r = tx.tryReserve(size) ?? (await tx.reserve(size, { timeout: remaining(perfDeadline), signal: call.signal }));
      } catch (err) {
        // The ring of a server that closed refuses it.
        if (!(err instanceof PeerGoneError) || attempt > 0) throw err;
        this.#dropRequests();
        continue;
      }
      if (this.#place(r, attempt, call, id, bytes, deadline, waitForServer)) return;
    }
  }

  #requestSize(tx: Sender, bytes: Uint8Array): number {
    const size = REQUEST_HEADER + bytes.length;
    if (size > tx.maxMessageSize) {
      throw new SystemError('EMSGSIZE', 'service', this.name, `a request of ${bytes.length} bytes does not fit the request ring (at most ${tx.maxMessageSize - REQUEST_HEADER})`);
    }
    return size;
  }

  // callSync()'s #send(): the same steps, each blocking.
  #sendSync(call: Call, id: number, bytes: Uint8Array, deadline: number, perfDeadline: number, waitForServer: boolean): void {
    for (let attempt = 0; ; attempt++) {
      const tx = this.#tx ?? this.#openRequestsSync(perfDeadline, waitForServer);
      const size = this.#requestSize(tx, bytes);
      let r: Reservation;
      try {
        r = tx.tryReserve(size) ?? tx.reserveSync(size, { timeout: remaining(perfDeadline) });
      } catch (err) {
        if (!(err instanceof PeerGoneError) || attempt > 0) throw err;
        this.#dropRequests();
        continue;
      }
      if (this.#place(r, attempt, call, id, bytes, deadline, waitForServer)) return;
    }
  }

  // Writes the call into reservation `r` if the ring may take it (#admit); false if the
  // ring's name was removed and a first attempt should open it again.
  #place(r: Reservation, attempt: number, call: Call, id: number, bytes: Uint8Array, deadline: number, waitForServer: boolean): boolean {
    let up: boolean | null;
    try {
      up = this.#admit(attempt, waitForServer);
    } catch (err) {
      r.cancel();
      throw err;
    }
    if (up === null) {
      r.cancel();
      this.#dropRequests();
      return false;
    }
    writeRequest(r.bytes, CALL, this.#idBytes, id, deadline);
    r.bytes.set(bytes, REQUEST_HEADER);
    r.commit();
    call.epoch = up ? this.#epoch : -1;
    return true;
  }

  // Whether a call may go into the request ring: true if a server serves it, false if
  // none does and the call may wait for the next; null if the ring's name was removed
  // and a first attempt should open it again; else PeerGoneError.
  #admit(attempt: number, waitForServer: boolean): boolean | null {
    const up = this.#serverUp();
    if (up === true || (up === false && waitForServer)) return up;
    if (up === null && attempt === 0) return null;
    throw new PeerGoneError(this.name, 'consumer', up === null ? 'the request ring was removed' : 'no server is up (waitForServer: false)');
  }

  // One sleep of callSync() on this client's ring, up to SLICE_MS: delivers what came,
  // else looks at the server (its end fails the calls it had taken) and the deadline.
  #awaitSync(id: number, call: Call, perfDeadline: number, ms: number): void {
    const left = remaining(perfDeadline);
    if (left === 0) {
      this.#finish(id, new SystemError('ETIMEDOUT', 'service', this.name, `no response within ${ms} ms`), null);
      return;
    }
    let view: Uint8Array | null = null;
    try {
      view = this.#rx.receiveViewSync({ timeout: Math.min(left, SLICE_MS) });
    } catch (err) {
      if (!(err instanceof PodshmError && err.code === 'ETIMEDOUT')) throw err;
    }
    if (view !== null) return this.#deliver(view);
    if (this.#server !== null) this.#server.check();
    else if (call.epoch < 0) this.#serverUp();
  }

  async #openRequests(perfDeadline: number, signal: AbortSignal | undefined, waitForServer: boolean): Promise<Sender> {
    let ring: Channel;
    try {
      ring = waitForServer ? await Channel.open(this.name, { dir: this.#dir, wait: true, timeout: remaining(perfDeadline), signal }) : Channel.open(this.name, { dir: this.#dir });
    } catch (err) {
      if (err instanceof PodshmError && err.code === 'ENOENT') throw new PeerGoneError(this.name, 'consumer', 'no server is up (waitForServer: false)');
      throw err;
    }
    return this.#adopt(ring);
  }

  // #openRequests() blocking: no inotify wait on a blocked thread, so the name is looked
  // at again after sleeps of up to OPEN_RETRY_MS.
  #openRequestsSync(perfDeadline: number, waitForServer: boolean): Sender {
    const nap = new Int32Array(new SharedArrayBuffer(4));
    for (let backoff = 1; ; backoff = Math.min(backoff * 2, OPEN_RETRY_MS)) {
      try {
        return this.#adopt(Channel.open(this.name, { dir: this.#dir }));
      } catch (err) {
        if (!(err instanceof PodshmError && err.code === 'ENOENT')) throw err;
        if (!waitForServer) throw new PeerGoneError(this.name, 'consumer', 'no server is up (waitForServer: false)');
        const left = remaining(perfDeadline);
        if (left === 0) throw new SystemError('ETIMEDOUT', 'service', this.name, 'no server made the request ring within the timeout');
        Atomics.wait(nap, 0, 0, Math.min(backoff, left));
      }
    }
  }

  // The request ring just opened becomes this client's, unless another call opened it meanwhile.
  #adopt(ring: Channel): Sender {
    // Another call opened it meanwhile.
    if (this.#tx !== null) {
      ring.close();
      return this.#tx;
    }
    if (this.#closed) {
      ring.close();
      throw this.#closedError();
    }
    let tx: Sender;
    try {
      tx = ring.sender();
      // Right after the sender's claim, which checked that the name is still this ring's.
      using probe = new LivenessProbe(objectFile(this.name, this.#dir));
      this.#requestsFile = probe.fileId();
    } catch (err) {
      ring.close();
      throw err;
    }
    this.#requests = ring;
    this.#tx = tx;
    return tx;
  }

  #dropRequests(): void {
    this.#tx?.close();
    this.#requests?.close();
    this.#tx = null;
    this.#requests = null;
  }

  // Whether a server is serving the request ring: free while a watch on it stands, else
  // a look (system calls), and a new watch if one is up; null if the ring's name is gone
  // or names another ring now.
  #serverUp(): boolean | null {
    if (this.#server !== null && !this.#server.ended()) return true;
    let notice: DeathNotice;
    try {
      notice = new DeathNotice(objectFile(this.name, this.#dir), LIVENESS_REGIONS.channel, () => this.#serverEnded(notice));
    } catch (err) {
      if (err instanceof PodshmError && err.code === 'ENOENT') return null;
      throw err;
    }
    // The name now holds another ring (this one's server died, and someone removed it).
    if (notice.fileId() !== this.#requestsFile) {
      notice.close();
      return null;
    }
    if (!notice.alive()) {
      notice.close();
      return false;
    }
    this.#server = notice;
    // Calls sent while none was up are this server's to answer now.
    for (const c of this.#calls.values()) if (c.sent && c.epoch < 0) c.epoch = this.#epoch;
    if (this.#calls.size > 0) notice.listen();
    return true;
  }

  #serverEnded(notice: DeathNotice): void {
    if (this.#server !== notice) return;
    this.#server = null;
    const ended = this.#epoch++;
    for (const [id, c] of this.#calls) {
      if (c.sent && c.epoch === ended) this.#finish(id, new PeerGoneError(this.name, 'consumer', 'the server ended with this call in flight'), null);
    }
  }

  // Calls are in flight: listen for responses and for the server's end.
  #busy(): void {
    if (this.#closed || this.#calls.size === 0) return;
    this.#server?.listen();
    if (this.#pump === null) void this.#receive((this.#pump = new AbortController()).signal);
  }

  async #receive(stop: AbortSignal): Promise<void> {
    const rx = this.#rx;
    // One listener for the pump's life, not a signal (and its listener) per wait.
    const interrupt = (): void => rx.interrupt(new AbortError(stop.reason));
    stop.addEventListener('abort', interrupt, { once: true });
    try {
      let delivered = false;
      while (!stop.aborted) {
        let view: Uint8Array | null;
        try {
          view = rx.tryReceiveView();
          if (view === null) {
            if (delivered) {
              // The callers' continuations first: a wait spins before it sleeps, holding
              // the event loop, and the next call they make is what the server waits for.
              delivered = false;
              await new Promise(setImmediate);
              continue;
            }
            // Nothing in flight once the callers have had their turn: off the event loop.
            if (this.#calls.size === 0) return;
            this.#asleep = stop;
            try {
              view = await rx.receiveView();
            } finally {
              if (this.#asleep === stop) this.#asleep = null;
            }
          }
        } catch (err) {
          if (err instanceof AbortError || this.#closed) return;
          for (const id of [...this.#calls.keys()]) this.#finish(id, err as Error, null);
          return;
        }
        this.#deliver(view);
        delivered = true;
      }
    } finally {
      stop.removeEventListener('abort', interrupt);
      if (this.#pump?.signal === stop) this.#pump = null;
      if (!this.#closed && this.#pump === null) {
        // A call may have come while this pump was being stopped.
        if (this.#calls.size > 0) queueMicrotask(() => this.#busy());
        else this.#server?.pause();
      }
    }
  }

  #deliver(view: Uint8Array): void {
    let response;
    try {
      response = readResponse(view, this.#ring.name);
    } catch (err) {
      this.#onError(err as Error);
      return;
    }
    // Late (the call timed out or was aborted) or from a server that replayed it: nobody waits.
    if (!this.#calls.has(response.callId)) return;
    const body = view.subarray(RESPONSE_HEADER);
    if (response.kind === OK) {
      let value: unknown;
      try {
        // With a codec, an empty response (the handler returned nothing) is undefined.
        value = this.#codec === null ? body.slice() : body.length === 0 ? undefined : decodeWith(this.#codec, body);
      } catch (err) {
        this.#finish(response.callId, err as Error, null);
        return;
      }
      this.#finish(response.callId, null, value);
    } else this.#finish(response.callId, new RemoteError(this.name, decodeError(body)), null);
  }

  // Settles call `id` once; a call given up after it was sent is cancelled at the server.
  #finish(id: number, err: Error | null, response: unknown): void {
    const call = this.#calls.get(id);
    if (call === undefined) return;
    this.#calls.delete(id);
    this.#figures.ended();
    call.unwatch?.();
    if (err === null) call.resolve(response);
    else {
      call.reject(err);
      if (call.sent && (err instanceof AbortError || (err instanceof SystemError && err.code === 'ETIMEDOUT'))) this.#cancel(id);
    }
    if (this.#calls.size === 0) this.#deadlines?.unref();
    // A pump that is awake sees it itself, after the callers' turn.
    if (this.#calls.size === 0 && (this.#pump === null || this.#asleep === this.#pump.signal)) this.#idle();
  }

  // Makes the timer due by `due` at the latest (calls of one timeout come due in the
  // order they were made: only the first arms it).
  #timeOut(due: number): void {
    if (this.#deadlines !== null) this.#deadlines.ref();
    if (due >= this.#deadlinesDue) return;
    if (this.#deadlines !== null) clearTimeout(this.#deadlines);
    this.#deadlinesDue = due;
    // setTimeout takes at most 2^31 - 1 ms (a longer delay fires at once).
    this.#deadlines = setTimeout(this.#expire, Math.min(Math.max(0, due - performance.now()), 2 ** 31 - 1));
  }

  // Times out the calls that are due, and waits for the next.
  readonly #expire = (): void => {
    this.#deadlines = null;
    this.#deadlinesDue = Infinity;
    const now = performance.now();
    let next = Infinity;
    for (const [id, call] of this.#calls) {
      if (call.due <= now) this.#finish(id, new SystemError('ETIMEDOUT', 'service', this.name, `no response within ${call.ms} ms`), null);
      else next = Math.min(next, call.due);
    }
    if (next !== Infinity) this.#timeOut(next);
  };

  // Best effort: a full ring drops the cancel (the handler then runs to the deadline).
  #cancel(id: number): void {
    const tx = this.#tx;
    if (tx === null || this.#closed) return;
    try {
      const r = tx.tryReserve(REQUEST_HEADER);
      if (r === null) return;
      writeRequest(r.bytes, CANCEL, this.#idBytes, id, 0);
      r.commit();
    } catch {
      // The server has gone: nothing to cancel.
    }
  }

  // Leaves the event loop once no call is in flight, checked after the current turn:
  // a caller that makes its next call as soon as one settles keeps the pump going.
  #idle(): void {
    if (this.#idleCheck) return;
    this.#idleCheck = true;
    setImmediate(() => {
      this.#idleCheck = false;
      if (this.#calls.size > 0) return;
      this.#pump?.abort();
      this.#pump = null;
      this.#server?.pause();
    });
  }

  // The request's bytes: the payload itself, or with a codec its encoding.
  #payload(payload: unknown): Uint8Array {
    if (this.#codec !== null) return encodeWith(this.#codec, payload);
    if (!ArrayBuffer.isView(payload)) throw argType('payload', 'a Uint8Array, Buffer or other ArrayBufferView', payload);
    return new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength);
  }

  #newId(): number {
    let id = this.#nextId;
    while (this.#calls.has(id)) id = (id + 1) >>> 0;
    this.#nextId = (id + 1) >>> 0;
    return id;
  }

  #closedError(): SystemError {
    return new SystemError('EBADF', 'service', this.name, 'the client is closed');
  }
}

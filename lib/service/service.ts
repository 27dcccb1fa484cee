// The server side of request/response over shared memory (docs/service.md). One
// Service per name at a time: it is the consumer of the request ring, the one
// dispatcher that takes every client's calls and runs the handler for each, many at
// once on this event loop, and the producer of each client's response ring.
import { Channel, type Reservation, type Sender, type WaitStrategy } from '../channel/channel';
import { AbortError, PeerGoneError, PodshmError, SystemError, argType, argValue } from '../core/errors';
import { posixName } from '../core/names';
import { remaining, timeoutMs } from '../core/timeout';
import { SLICE_MS } from '../wait/loop';
import { boolean, options } from '../core/validate';
import { LIVENESS_REGIONS } from '../liveness/presence';
import { objectFile } from '../shm/shared_memory';
import { DeathNotice } from './death_notice';
import { CallFigures, ROLE_SERVICE } from './figures';
import { decodeWith, encodeWith, resolveCodec, type BoundCodec, type CodecOption } from '../core/codec';
import { CALL, FAILED, OK, REQUEST_HEADER, RESPONSE_HEADER, clientRingName, encodeError, readRequest, writeResponse } from './protocol';

/** What a handler gets besides the request. */
export interface CallContext {
  /** When the caller stops waiting, in ms since the epoch (Date.now()); Infinity: never. */
  readonly deadline: number;
  /** Aborts when the caller gave up (its timeout or abort), died, or this service closes. */
  readonly signal: AbortSignal;
  /**
   * Room for the response in the caller's ring, to fill in place (no copy): write
   * `bytes`, then commit(length). The handler then returns nothing. Commit soon: the
   * caller's later responses wait behind it.
   */
  reserve(size: number): Promise<ResponseReservation>;
}

export interface ResponseReservation {
  /** The response's bytes, in the caller's ring. */
  readonly bytes: Uint8Array;
  /** Sends the first `length` bytes (default: all) as the response. */
  commit(length?: number): void;
}

/**
 * Answers one call: the response's bytes (with a codec, its value), or nothing after a
 * commit of ctx.reserve(). Throwing sends a RemoteError.
 */
export type ServiceHandler<Req = Uint8Array, Res = ArrayBufferView> = (request: Req, ctx: CallContext) => Res | void | Promise<Res | void>;

/** What serveSync()'s handler gets besides the request. */
export interface SyncCallContext {
  /** When the caller stops waiting, in ms since the epoch (Date.now()); Infinity: never. */
  readonly deadline: number;
}

/** serveSync()'s handler: answers one call on the serving thread, returning the response (not a Promise). */
export type ServiceSyncHandler<Req = Uint8Array, Res = ArrayBufferView> = (request: Req, ctx: SyncCallContext) => Res | void;

export interface ServiceOptions {
  /** Bytes of the request ring, when this call makes it (a power of two, 4 KiB to 1 GiB). Default 1 MiB. */
  capacity?: number;
  /** Permission bits of the request ring, when made here. Default 0o600. */
  mode?: number;
  /** Directory of the tmpfs holding the rings. Default /dev/shm. */
  dir?: string;
  /** Send a handler error's stack to the caller (RemoteError.remoteStack). Default false. */
  remoteStack?: boolean;
  /** Called with what went wrong outside any handler (a bad record, a client's ring that cannot be opened); serving goes on. Default: process.emitWarning. */
  onError?: (err: Error) => void;
  /**
   * Requests and responses are values through this codec (docs/api.md, "Codecs"); the
   * clients must use the same. ctx.reserve() still writes bytes. Default: none, bytes.
   */
  codec?: CodecOption;
  /**
   * How the server waits for requests (and clients for room): the request ring's `wait`
   * (docs/channel.md), when this call makes it. Default 'block': a check of at most 5 µs,
   * then sleep; 'adaptive' spins up to 20 µs first, which answers sooner while both
   * sides have a core to themselves and costs CPU on every wait.
   */
  wait?: WaitStrategy;
}

export interface ServeSyncOptions extends ServiceOptions {
  /** Return (closing the service) once no call has come for this many ms. Default: serve until the thread ends. */
  timeout?: number;
}

// Responses up to this size are built here and sent whole (trySend): no Reservation
// object, and the caller never finds a record still open in its ring, which would make
// its reader wait on this producer alone (a death watch of its own, started and stopped).
const SCRATCH_BYTES = 4096;
const KEYS = ['capacity', 'mode', 'dir', 'remoteStack', 'onError', 'codec', 'wait'] as const;
const SYNC_KEYS = [...KEYS, 'timeout'] as const;

/** A client this service has answered: its ring, and its calls running now. */
interface Caller {
  readonly ring: Channel;
  readonly tx: Sender;
  readonly notice: DeathNotice;
  readonly calls: Map<number, Answer>;
}

export class Service implements Disposable {
  /** The service's name (its request ring's), with its leading slash. */
  readonly name: string;
  readonly #handler: ServiceHandler<unknown, unknown>;
  readonly #codec: BoundCodec | null;
  readonly #dir: string | undefined;
  readonly #remoteStack: boolean;
  readonly #onError: (err: Error) => void;
  readonly #requests: Channel;
  readonly #rx: ReturnType<Channel['receiver']>;
  readonly #callers = new Map<string, Caller>();
  readonly #figures: CallFigures;
  readonly #scratch = new Uint8Array(SCRATCH_BYTES);
  #closed = false;

  private constructor(name: string, handler: ServiceHandler<unknown, unknown>, codec: BoundCodec | null, o: Partial<ServiceOptions>, requests: Channel, dispatch: boolean) {
    this.name = requests.name;
    this.#handler = handler;
    this.#codec = codec;
    this.#dir = o.dir;
    this.#remoteStack = boolean('remoteStack', o.remoteStack, false);
    this.#onError = o.onError ?? ((err) => process.emitWarning(err));
    this.#requests = requests;
    try {
      this.#rx = requests.receiver();
    } catch (err) {
      requests.close();
      if (err instanceof PodshmError && err.code === 'EBUSY') throw new SystemError('EBUSY', 'service', name, 'a live server already serves this name');
      throw err;
    }
    this.#figures = new CallFigures(requests, ROLE_SERVICE);
    if (dispatch) void this.#dispatch();
  }

  /**
   * Serves `name`: takes over its request ring (made if missing), so calls that waited
   * while no server was up are answered now. EBUSY if a live server serves it already.
   */
  static serve<Req = unknown, Res = unknown>(name: string, handler: ServiceHandler<Req, Res>, opts: ServiceOptions & { codec: CodecOption }): Service;
  static serve(name: string, handler: ServiceHandler, opts?: ServiceOptions): Service;
  static serve(name: string, handler: ServiceHandler<never, unknown>, opts?: ServiceOptions): Service {
    return Service.#make(name, handler as ServiceHandler<unknown, unknown>, options<ServiceOptions>(opts, KEYS), true);
  }

  /**
   * serve() on this thread, blocking it (a worker that may block, never an event loop
   * that serves others): takes each call and answers it with what `handler` returns,
   * one at a time, until no call has come for `timeout` ms; then closes the service and
   * returns how many calls it answered. EBUSY if a live server serves `name`.
   */
  static serveSync<Req = unknown, Res = unknown>(name: string, handler: ServiceSyncHandler<Req, Res>, opts: ServeSyncOptions & { codec: CodecOption }): number;
  static serveSync(name: string, handler: ServiceSyncHandler, opts?: ServeSyncOptions): number;
  static serveSync(name: string, handler: ServiceSyncHandler<never, unknown>, opts?: ServeSyncOptions): number {
    const { timeout, ...o } = options<ServeSyncOptions>(opts, SYNC_KEYS);
    const idleMs = timeoutMs(timeout);
    const service = Service.#make(name, handler as unknown as ServiceHandler<unknown, unknown>, o, false);
    try {
      return service.#dispatchSync(handler as ServiceSyncHandler<unknown, unknown>, idleMs);
    } finally {
      service.close();
    }
  }

  static #make(name: string, handler: ServiceHandler<unknown, unknown>, o: Partial<ServiceOptions>, dispatch: boolean): Service {
    const canonical = posixName(name, 'shm_open');
    if (typeof handler !== 'function') throw argType('handler', 'a function', handler);
    const codec = resolveCodec(o.codec);
    boolean('remoteStack', o.remoteStack, false);
    if (o.onError !== undefined && typeof o.onError !== 'function') throw argType('onError', 'a function', o.onError);
    let requests: Channel;
    try {
      requests = Channel.create(canonical, { capacity: o.capacity, producers: 'multi', mode: o.mode, dir: o.dir, wait: o.wait ?? 'block' });
    } catch (err) {
      if (!(err instanceof PodshmError && err.code === 'EEXIST')) throw err;
      requests = Channel.open(canonical, { dir: o.dir });
      if (requests.producers !== 'multi') {
        requests.close();
        throw argValue('name', 'names a channel that is not a service request ring (one producer only)', name);
      }
    }
    return new Service(canonical, handler, codec, o, requests, dispatch);
  }

  /** Removes a service's request ring; a server running keeps it, and clients find the next one made under the name. */
  static unlink(name: string, opts?: { dir?: string }): void {
    Channel.unlink(name, opts);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Calls running now, across every client. */
  get inFlight(): number {
    let n = 0;
    for (const c of this.#callers.values()) n += c.calls.size;
    return n;
  }

  /**
   * Stops serving and removes the request ring (the next server makes a new one, and
   * clients find it): the handlers' signals abort, and the callers of every call sent
   * get PeerGoneError. A server that dies instead leaves the ring, and the calls not yet
   * taken, to the next server.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // The name first: a client that sees this server gone and opens the name again must
    // not find this ring.
    try {
      this.#requests.unlink();
    } catch (err) {
      if (!(err instanceof PodshmError && err.code === 'ENOENT')) this.#onError(err as Error);
    }
    for (const id of [...this.#callers.keys()]) this.#dropCaller(id, false);
    this.#rx.close();
    this.#requests.close();
  }

  /** Removes the request ring's name now, while serving on (see Service.unlink). */
  unlink(): void {
    this.#requests.unlink();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  async #dispatch(): Promise<void> {
    const rx = this.#rx;
    let took = false;
    for (;;) {
      let view: Uint8Array | null;
      try {
        view = rx.tryReceiveView();
        if (view === null && took) {
          // The handlers' answers first: a wait spins before it sleeps, holding the
          // event loop, and the callers wait for those answers.
          took = false;
          await new Promise(setImmediate);
          if (this.#closed) return;
          continue;
        }
        // No signal: close() ends this wait, as it closes the ring (a signal costs an
        // abort listener on every sleep).
        view ??= await rx.receiveView();
      } catch (err) {
        if (this.#closed) return;
        // The ring itself is broken (ChannelCorruptError): nothing more can be read from
        // it. Closing removes it, so that clients find the next server's new ring.
        this.#onError(err as Error);
        this.close();
        return;
      }
      took = true;
      try {
        this.#take(view);
      } catch (err) {
        this.#onError(err as Error);
      }
    }
  }

  // serveSync()'s loop: sleeps of up to SLICE_MS, between which the callers that died are
  // let go (their rings removed), as the event loop's death notices would.
  #dispatchSync(handler: ServiceSyncHandler<unknown, unknown>, idleMs: number): number {
    let answered = 0;
    for (let idleSince = performance.now(); ; idleSince = performance.now()) {
      let view: Uint8Array;
      for (;;) {
        try {
          view = this.#rx.receiveViewSync({ timeout: Math.min(SLICE_MS, idleMs) });
          break;
        } catch (err) {
          // The ring itself is broken (ChannelCorruptError): serveSync closes it.
          if (!(err instanceof PodshmError && err.code === 'ETIMEDOUT')) {
            this.#onError(err as Error);
            return answered;
          }
        }
        for (const caller of [...this.#callers.values()]) caller.notice.check();
        if (performance.now() - idleSince >= idleMs) return answered;
      }
      try {
        if (this.#answerSync(view, handler)) answered++;
      } catch (err) {
        this.#onError(err as Error);
      }
    }
  }

  // #take() and #run() for one record on this thread: a call runs to its end before the
  // next record is read, so a cancel finds nothing to abort.
  #answerSync(view: Uint8Array, handler: ServiceSyncHandler<unknown, unknown>): boolean {
    const req = readRequest(view, this.name);
    if (req.kind !== CALL || req.deadline <= Date.now()) return false;
    const caller = this.#callers.get(req.client) ?? this.#openCaller(req.client);
    let kind = OK;
    let body: Uint8Array;
    this.#figures.started();
    try {
      const codec = this.#codec;
      const result = handler(codec === null ? view.slice(REQUEST_HEADER) : decodeWith(codec, view.subarray(REQUEST_HEADER)), { deadline: req.deadline });
      if (result instanceof Promise) throw argType('the handler result', "the response, not a Promise (serveSync()'s handler is synchronous: serve() takes an async one)", result);
      body = this.#body(result);
    } catch (err) {
      kind = FAILED;
      body = encodeError(err, this.#remoteStack);
    } finally {
      this.#figures.ended();
    }
    [kind, body] = this.#fit(caller, kind, body);
    try {
      const size = RESPONSE_HEADER + body.length;
      const timeout = req.deadline === Infinity ? Infinity : Math.max(0, Math.ceil(req.deadline - Date.now()));
      if (!this.#trySend(caller, kind, req.callId, body)) this.#write(caller.tx.reserveSync(size, { timeout }), kind, req.callId, body);
    } catch (err) {
      this.#unsent(err, req.client);
    }
    return true;
  }

  // A handler's result as response bytes: nothing is an empty response.
  #body(result: unknown): Uint8Array {
    if (result === undefined) return new Uint8Array(0);
    if (this.#codec !== null) return encodeWith(this.#codec, result);
    if (ArrayBuffer.isView(result)) return new Uint8Array(result.buffer, result.byteOffset, result.byteLength);
    throw argType('the handler result', 'an ArrayBufferView or nothing', result);
  }

  // A response too large for the caller's ring becomes an EMSGSIZE error for it.
  #fit(caller: Caller, kind: number, body: Uint8Array): [number, Uint8Array] {
    if (RESPONSE_HEADER + body.length <= caller.tx.maxMessageSize) return [kind, body];
    const max = caller.tx.maxMessageSize - RESPONSE_HEADER;
    return [FAILED, encodeError(new SystemError('EMSGSIZE', 'service', this.name, `a response of ${body.length} bytes does not fit the client's ring (at most ${max})`), false)];
  }

  // Sends a response if the caller's ring has room now; false if it is full.
  #trySend(caller: Caller, kind: number, callId: number, body: Uint8Array): boolean {
    const size = RESPONSE_HEADER + body.length;
    if (size > SCRATCH_BYTES) {
      const r = caller.tx.tryReserve(size);
      if (r === null) return false;
      this.#write(r, kind, callId, body);
      return true;
    }
    const scratch = this.#scratch;
    writeResponse(scratch, kind, callId);
    scratch.set(body, RESPONSE_HEADER);
    return caller.tx.trySend(scratch.subarray(0, size));
  }

  #write(r: Reservation, kind: number, callId: number, body: Uint8Array): void {
    writeResponse(r.bytes, kind, callId);
    r.bytes.set(body, RESPONSE_HEADER);
    r.commit();
  }

  // A response that could not be sent: the caller gone, or its wait over.
  #unsent(err: unknown, client: string): void {
    if (err instanceof PeerGoneError) this.#dropCaller(client, true);
    else if (!(err instanceof PodshmError && (err.code === 'ETIMEDOUT' || err.code === 'EBADF'))) this.#onError(err as Error);
  }

  // One record, from a view valid until the next receive: what outlives it is copied.
  #take(view: Uint8Array): void {
    const req = readRequest(view, this.name);
    if (req.kind !== CALL) {
      this.#callers.get(req.client)?.calls.get(req.callId)?.abort(new AbortError('the caller gave up'));
      return;
    }
    // The caller has stopped waiting: nobody to answer.
    if (req.deadline <= Date.now()) return;
    const caller = this.#callers.get(req.client) ?? this.#openCaller(req.client);
    if (caller.calls.has(req.callId)) throw new SystemError('EPROTO', 'service', this.name, `client ${req.client} sent call ${req.callId} while it was running`);
    const request = view.slice(REQUEST_HEADER);
    const call = new Answer(caller, req.client, req.callId, req.deadline);
    caller.calls.set(req.callId, call);
    this.#figures.started();
    this.#run(call, new Context(call, (size) => this.#reserveFor(call, size)), request);
  }

  #openCaller(client: string): Caller {
    const ringName = clientRingName(this.name, client);
    const ring = Channel.open(ringName, { dir: this.#dir });
    try {
      if (ring.producers !== 'single') throw argValue('name', 'names a channel that is not a client response ring', ringName);
      const tx = ring.sender();
      const path = objectFile(ring.name, this.#dir);
      // The channel's consumer slot (lib/channel/peers.ts): the client's own presence.
      const notice = new DeathNotice(path, LIVENESS_REGIONS.channel, () => this.#dropCaller(client, true));
      const caller: Caller = { ring, tx, notice, calls: new Map() };
      this.#callers.set(client, caller);
      notice.listen();
      return caller;
    } catch (err) {
      ring.close();
      throw err;
    }
  }

  // The client ended (or this service closes): abort its calls, let its ring go.
  #dropCaller(client: string, gone: boolean): void {
    const caller = this.#callers.get(client);
    if (caller === undefined) return;
    this.#callers.delete(client);
    const reason = gone ? new PeerGoneError(caller.ring.name, 'consumer', 'the client has gone') : new AbortError('the service is closing');
    for (const call of caller.calls.values()) call.abort(reason);
    caller.notice.close();
    caller.ring.close();
    if (!gone) return;
    try {
      Channel.unlink(caller.ring.name, { dir: this.#dir });
    } catch (err) {
      // A client that closed cleanly unlinked its ring itself.
      if (!(err instanceof PodshmError && err.code === 'ENOENT')) this.#onError(err as Error);
    }
  }

  // Runs the handler; a handler that returns (not a Promise) is answered at once, in
  // this turn: no promise is made for it.
  #run(call: Answer, ctx: CallContext, request: Uint8Array): void {
    let result: unknown;
    let later: boolean;
    try {
      const codec = this.#codec;
      result = this.#handler(codec === null ? request : decodeWith(codec, request), ctx);
      later = typeof (result as PromiseLike<unknown> | null)?.then === 'function';
    } catch (err) {
      return this.#answer(call, true, err);
    }
    if (later) {
      Promise.resolve(result).then(
        (value) => this.#answer(call, false, value),
        (err: unknown) => this.#answer(call, true, err),
      );
    } else this.#answer(call, false, result);
  }

  // Sends the handler's outcome to the caller, unless nobody waits for it any more
  // (cancelled, the client or this service gone).
  #answer(call: Answer, failed: boolean, outcome: unknown): void {
    call.answered = true;
    const caller = call.caller;
    let kind = OK;
    let body: Uint8Array;
    try {
      if (failed) throw outcome;
      const reserved = call.reserved;
      if (reserved !== null) {
        if (!reserved.open) return;
        reserved.cancel();
        throw new SystemError('EINVAL', 'service', this.name, 'the handler reserved a response and did not commit it');
      }
      body = this.#body(outcome);
    } catch (err) {
      kind = FAILED;
      body = encodeError(err, this.#remoteStack);
      // Left open, it would hold back every later answer to this caller.
      call.reserved?.[Symbol.dispose]();
    } finally {
      if (caller.calls.get(call.callId) === call) caller.calls.delete(call.callId);
      this.#figures.ended();
    }
    if (call.aborted) return;
    [kind, body] = this.#fit(caller, kind, body);
    try {
      if (this.#trySend(caller, kind, call.callId, body)) return;
    } catch (err) {
      return this.#unsent(err, call.client);
    }
    this.#reserve(caller, RESPONSE_HEADER + body.length, call.deadline).then(
      (r) => this.#write(r, kind, call.callId, body),
      (err: unknown) => this.#unsent(err, call.client),
    );
  }

  // ctx.reserve() of `call`.
  async #reserveFor(call: Answer, size: number): Promise<ResponseReservation> {
    if (call.reserved !== null) throw new SystemError('EINVAL', 'service', this.name, 'a handler reserves one response');
    const r = await this.#reserve(call.caller, RESPONSE_HEADER + size, call.deadline);
    // Left open, it would hold back every later answer to this caller.
    if (call.answered) {
      r.cancel();
      throw new SystemError('EINVAL', 'service', this.name, 'the handler returned before its reservation was made (await ctx.reserve() in the handler)');
    }
    writeResponse(r.bytes, OK, call.callId);
    call.reserved = r;
    const bytes = r.bytes.subarray(RESPONSE_HEADER);
    return { bytes, commit: (length = bytes.length) => r.commit(RESPONSE_HEADER + length) };
  }

  async #reserve(caller: Caller, size: number, deadline: number): Promise<Reservation> {
    if (size > caller.tx.maxMessageSize) {
      throw new SystemError('EMSGSIZE', 'service', caller.ring.name, `a response of ${size - RESPONSE_HEADER} bytes does not fit the client's ring (at most ${caller.tx.maxMessageSize - RESPONSE_HEADER})`);
    }
    const timeout = deadline === Infinity ? Infinity : remaining(performance.now() + deadline - Date.now());
    return caller.tx.tryReserve(size) ?? caller.tx.reserve(size, { timeout });
  }
}

/** One call being answered: what the service keeps of it while its handler runs. */
class Answer {
  readonly caller: Caller;
  readonly client: string;
  readonly callId: number;
  readonly deadline: number;
  /** ctx.reserve()'s reservation, once made. */
  reserved: Reservation | null = null;
  /** The handler has returned (or thrown): what it reserves now is refused. */
  answered = false;
  aborted = false;
  // Made only when the handler asks for ctx.signal: most never do, and an
  // AbortController is a good share of what a small call costs the server.
  #controller: AbortController | null = null;
  #reason: unknown = undefined;

  constructor(caller: Caller, client: string, callId: number, deadline: number) {
    this.caller = caller;
    this.client = client;
    this.callId = callId;
    this.deadline = deadline;
  }

  get signal(): AbortSignal {
    if (this.#controller === null) {
      this.#controller = new AbortController();
      if (this.aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }
}

/** A handler's ctx: what it may see of its Answer. */
class Context implements CallContext {
  readonly deadline: number;
  readonly #answer: Answer;
  // A function of its own, as a handler may take it out of ctx.
  readonly reserve: (size: number) => Promise<ResponseReservation>;

  constructor(answer: Answer, reserve: (size: number) => Promise<ResponseReservation>) {
    this.deadline = answer.deadline;
    this.#answer = answer;
    this.reserve = reserve;
  }

  get signal(): AbortSignal {
    return this.#answer.signal;
  }
}

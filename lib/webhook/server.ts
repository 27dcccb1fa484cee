// The HTTPS side: /mutate (AdmissionReview v1), /healthz, /readyz, /metrics. node:https only.
import { createServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

import { describeCertificate, loadKeyPair, warnIfInvalidNow, watchKeyPair } from './certs';
import { jsonDepthOver } from './json_depth';
import type { Logger } from './log';
import { EXPOSITION_CONTENT_TYPE, WebhookMetrics } from './metrics';
import { mutateOptions, type MutateOptions } from './mutate';
import { reviewAdmission, type ReviewLog } from './review';

const BODY_LIMIT = 1024 * 1024;
// A pod is a dozen levels deep; the API server's own decoder stops at 10 000.
const MAX_JSON_DEPTH = 256;

export interface WebhookServerOptions extends MutateOptions {
  certFile: string;
  keyFile: string;
  log: Logger;
  /** A client must send its whole request (TLS handshake, headers, body) within this; ms. */
  requestTimeout?: number;
}

export interface WebhookServer {
  listen(port: number, host?: string): Promise<AddressInfo>;
  /** Stops taking connections, lets requests in flight finish for up to graceMs, then closes the rest. */
  shutdown(graceMs: number): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function createWebhookServer(options: WebhookServerOptions): WebhookServer {
  const mutate = mutateOptions({ ratio: options.ratio, defaultLimit: options.defaultLimit }); // fail at start-up on bad flags, not on the first pod
  const review = { ratio: mutate.ratio, defaultLimit: mutate.defaultLimit ?? undefined };
  const { log } = options;
  const requestTimeout = options.requestTimeout ?? 10_000;
  const pair = loadKeyPair(options.certFile, options.keyFile);
  let shuttingDown = false;
  const metrics = new WebhookMetrics();

  const server = createServer({
    ...pair,
    minVersion: 'TLSv1.2',
    handshakeTimeout: requestTimeout,
    requestTimeout,
    headersTimeout: requestTimeout,
    keepAliveTimeout: 5_000,
    // Node checks request timeouts on this period (30 s by default); a slow client would
    // otherwise hold a socket well past requestTimeout.
    connectionsCheckingInterval: Math.min(1_000, requestTimeout),
  });
  const watcher = watchKeyPair(options.certFile, options.keyFile, pair, (next) => server.setSecureContext({ ...next, minVersion: 'TLSv1.2' }), log);

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const start = process.hrtime.bigint();
    const path = (req.url ?? '/').split('?')[0];
    let outcome: Partial<ReviewLog> & { error?: string } = {};
    res.on('close', () => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      metrics.request(path, res.writableFinished ? res.statusCode : 0, seconds, outcome.result);
      log('info', 'request', {
        method: req.method,
        path,
        status: res.writableFinished ? res.statusCode : undefined,
        aborted: res.writableFinished ? undefined : true,
        ms: Number((process.hrtime.bigint() - start) / 1000n) / 1000,
        remote: req.socket.remoteAddress,
        ...outcome,
      });
    });
    handle(req, path)
      .then((reply) => {
        outcome = reply.log ?? {};
        // At reply time: a request that came in before a SIGTERM is answered after it.
        if (shuttingDown) res.setHeader('Connection', 'close');
        if (typeof reply.body === 'string') sendText(res, reply.body);
        else send(res, 200, reply.body);
      })
      .catch((err: unknown) => {
        const status = err instanceof HttpError ? err.status : 500;
        const message = err instanceof Error ? err.message : String(err);
        outcome = { error: message };
        if (status === 500) log('error', 'request failed', { path, error: (err as Error)?.stack ?? message });
        // The rest of an oversized or unread body is not worth reading: close after replying.
        if (!req.complete || shuttingDown) res.setHeader('Connection', 'close');
        send(res, status, { error: message });
      });
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    // Unparsable requests and slow clients (requestTimeout); answered here, as Node's
    // default handler would, but logged.
    metrics.connectionError('http');
    log('warn', 'client error', { error: err.code ?? err.message, remote: socket.remoteAddress });
    if (!socket.writable) return void socket.destroy();
    const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
    socket.write(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`, () => socket.destroy());
  });
  server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    metrics.connectionError('tls');
    log('warn', 'tls client error', { error: err.code ?? err.message, remote: socket.remoteAddress });
    // With a listener here Node leaves the socket open, even after a handshake timeout.
    socket.destroy();
  });

  // A string body is the metrics exposition; anything else is sent as JSON.
  async function handle(req: IncomingMessage, path: string | undefined): Promise<{ body: unknown; log?: Partial<ReviewLog> }> {
    if (path === '/metrics') {
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'use GET');
      return { body: metrics.text() };
    }
    if (path === '/healthz' || path === '/readyz') {
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'use GET');
      if (path === '/readyz' && shuttingDown) throw new HttpError(503, 'shutting down');
      return { body: { status: 'ok' } };
    }
    if (path !== '/mutate') throw new HttpError(404, `no such path: ${path}`);
    if (req.method !== 'POST') throw new HttpError(405, 'use POST');
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') throw new HttpError(415, `content-type must be application/json, not "${type}"`);
    const body = (await readBody(req)).toString('utf8');
    // Deeper than any pod: refused before parsing, as walking it (JSON.stringify of a
    // field for a message) would exhaust the stack.
    if (jsonDepthOver(body, MAX_JSON_DEPTH)) throw new HttpError(400, `JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch (err) {
      throw new HttpError(400, `malformed JSON: ${(err as Error).message}`);
    }
    const result = reviewAdmission(parsed, review);
    if (!result.ok) throw new HttpError(400, result.error);
    return { body: result.review, log: result.log };
  }

  return {
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const address = server.address() as AddressInfo;
          log('info', 'listening', { address: address.address, port: address.port, ratio: mutate.ratio, defaultLimit: options.defaultLimit, ...describeCertificate(pair.cert) });
          warnIfInvalidNow(pair.cert, log);
          resolve(address);
        });
      });
    },
    async shutdown(graceMs) {
      if (shuttingDown) return;
      shuttingDown = true;
      log('info', 'shutting down', { graceMs });
      watcher.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs)));
      if (await Promise.race([closed.then(() => false), late])) {
        log('warn', 'grace period over; closing the remaining connections');
        server.closeAllConnections();
        await closed;
      }
      clearTimeout(timer);
      log('info', 'stopped');
    },
  };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (declared > BODY_LIMIT) return Promise.reject(new HttpError(413, `body over ${BODY_LIMIT} bytes`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > BODY_LIMIT) {
        req.pause();
        req.removeAllListeners('data');
        reject(new HttpError(413, `body over ${BODY_LIMIT} bytes`));
      } else {
        chunks.push(chunk);
      }
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    // A client gone mid-body (or cut off by requestTimeout): nobody to answer, nothing to mend.
    const aborted = (): void => reject(new HttpError(400, 'request aborted'));
    req.on('error', aborted);
    req.on('close', aborted);
  });
}

function sendText(res: ServerResponse, text: string): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(200, { 'Content-Type': EXPOSITION_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

// `podshm metrics`: a Prometheus endpoint (GET /metrics) with the figures of every
// object, read at each scrape; reading only, so it can run as a sidecar of any pod.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';

import { PodshmError, UsageError, type PodshmErrorCode } from '../core/errors';
import { EXPOSITION_CONTENT_TYPE, exposition } from '../core/exposition';
import { DEFAULT_SHM_DIR } from '../capacity/limits';
import { objectMetrics } from '../admin/metrics';
import { collectStats } from '../admin/stats';
import { parse } from './args';
import { EXIT, helpText } from './help';

export const summary = 'serve the figures of every object as Prometheus metrics';

const USAGE = 'podshm metrics [--port N] [--host ADDRESS] [--dir PATH] [--no-mqueue] [--once]';
export const DEFAULT_METRICS_PORT = 9464;
export const help = helpText(
  USAGE,
  'Serves the figures of every object (those of podshm top) as Prometheus metrics on GET /metrics, read at each scrape, and GET /healthz; stops on SIGTERM or SIGINT.',
  [
    ['--port N', `the port to listen on, 0 for any free one (default ${DEFAULT_METRICS_PORT})`],
    ['--host ADDRESS', 'the address to listen on (default: every address)'],
    ['--dir PATH', 'the directory of POSIX shm objects: /dev/shm (the default) or where a Memory emptyDir is mounted'],
    ['--no-mqueue', 'leave out POSIX message queues'],
    ['--once', 'print the metrics once on stdout instead of serving them'],
  ],
  '0 stopped by SIGTERM or SIGINT, or --once printed (a source that cannot be listed is podshm_source_readable 0), 2 usage error, 3 could not listen',
);

function render(dir: string, mqueue: boolean): string {
  return exposition(objectMetrics(collectStats({ dir, mqueue })));
}

export async function run(args: string[]): Promise<number> {
  const { values } = parse(
    'metrics',
    USAGE,
    args,
    { port: { type: 'string' }, host: { type: 'string' }, dir: { type: 'string' }, 'no-mqueue': { type: 'boolean' }, once: { type: 'boolean' } },
    'none',
  );
  if (values.dir === '') throw new UsageError(`metrics: --dir needs a path (usage: ${USAGE})`);
  const dir = path.resolve(values.dir ?? DEFAULT_SHM_DIR);
  const mqueue = values['no-mqueue'] !== true;
  if (values.once) {
    process.stdout.write(render(dir, mqueue));
    return EXIT.OK;
  }
  const port = values.port === undefined ? DEFAULT_METRICS_PORT : Number(values.port);
  if (!/^\d+$/.test(values.port ?? '0') || !Number.isInteger(port) || port > 65535) throw new UsageError(`metrics: --port must be a port number from 0 to 65535, not '${values.port}' (usage: ${USAGE})`);

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = (req.url ?? '/').split('?')[0];
    const reply = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, 'text/plain', 'use GET\n');
    if (url === '/healthz') return reply(200, 'text/plain', 'ok\n');
    if (url !== '/metrics') return reply(404, 'text/plain', `no such path: ${url}; the metrics are at /metrics\n`);
    try {
      reply(200, EXPOSITION_CONTENT_TYPE, render(dir, mqueue));
    } catch (err) {
      reply(500, 'text/plain', `${(err as Error).message}\n`);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, values.host, () => resolve());
  }).catch((err: NodeJS.ErrnoException) => {
    // A port in use or an address not here: one line, not a stack.
    throw new PodshmError(`metrics: cannot listen on ${values.host ?? '*'}:${port}: ${err.message}`, (err.code ?? 'EADDRNOTAVAIL') as PodshmErrorCode);
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  process.stdout.write(`podshm metrics: serving http://${host}:${address.port}/metrics\n`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      server.close(() => resolve());
      server.closeAllConnections();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  return EXIT.OK;
}

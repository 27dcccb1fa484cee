// `podshm webhook`: the mutating admission webhook that gives every pod a shared /dev/shm.
import { UsageError } from '../core/errors';
import { jsonLogger } from '../webhook/log';
import { DEFAULT_RATIO, mutateOptions } from '../webhook/mutate';
import { createWebhookServer } from '../webhook/server';
import { suggestion } from './args';
import { EXIT, helpText } from './help';

export const summary = 'admission webhook: a sized Memory emptyDir at /dev/shm in every pod';

const USAGE = 'podshm webhook --tls-cert FILE --tls-key FILE [--port N] [--host ADDR] [--ratio R] [--default-limit QUANTITY] [--request-timeout MS]';
const FLAGS = ['--tls-cert', '--tls-key', '--port', '--host', '--ratio', '--default-limit', '--request-timeout'];

export const help = helpText(
  USAGE,
  'Serves AdmissionReview v1 on POST /mutate, GET /healthz and /readyz, and its Prometheus metrics on ' +
    'GET /metrics, over HTTPS: every pod gets a Memory emptyDir at /dev/shm, its sizeLimit a ratio of the ' +
    'smallest memory limit of its containers. Reloads the certificate when its files change; stops ' +
    'gracefully on SIGTERM. Flags take --flag VALUE or --flag=VALUE.',
  [
    ['--tls-cert FILE', 'the serving certificate (PEM); required'],
    ['--tls-key FILE', 'its private key (PEM); required'],
    ['--port N', 'the port to listen on, 0 for any free one (default 8443)'],
    ['--host ADDR', 'the address to listen on (default: every address)'],
    ['--ratio R', `sizeLimit as a share of the smallest memory limit, > 0 and <= 1 (default ${DEFAULT_RATIO})`],
    ['--default-limit QUANTITY', 'the memory limit assumed for a pod whose containers set none (default: leave such pods alone)'],
    ['--request-timeout MS', 'ms a client has for the TLS handshake, and for its whole request; 1 to 600000 (default 10000)'],
  ],
  '0 stopped by SIGTERM or SIGINT, 2 usage error, 3 could not start (certificate files, port in use)',
);

// In-flight reviews take milliseconds; this only bounds a stuck client at shutdown.
const SHUTDOWN_GRACE_MS = 5_000;

interface Args {
  port: number;
  host: string | undefined;
  certFile: string;
  keyFile: string;
  ratio: number;
  defaultLimit: string | undefined;
  requestTimeout: number;
}

const usageError = (text: string) => new UsageError(`webhook: ${text} (usage: ${USAGE})`);

function parse(argv: string[]): Args {
  const out: Partial<Args> = { port: 8443, ratio: DEFAULT_RATIO, requestTimeout: 10_000 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    // --flag value, or --flag=value (the form Kubernetes manifests tend to use)
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq < 0 ? arg : arg.slice(0, eq);
    const value = eq < 0 ? argv[++i] : arg.slice(eq + 1);
    if (!FLAGS.includes(flag)) throw usageError(`unknown option ${flag}${suggestion(flag, [...FLAGS, '--help'])}`);
    if (value === undefined) throw usageError(`${flag} needs a value`);
    switch (flag) {
      case '--port':
        out.port = number(flag, value, 0, 65535);
        break;
      case '--host':
        out.host = value;
        break;
      case '--tls-cert':
        out.certFile = value;
        break;
      case '--tls-key':
        out.keyFile = value;
        break;
      case '--ratio':
        out.ratio = Number(value);
        break;
      case '--default-limit':
        out.defaultLimit = value;
        break;
      case '--request-timeout':
        out.requestTimeout = number(flag, value, 1, 600_000);
        break;
    }
  }
  if (!out.certFile || !out.keyFile) throw usageError('--tls-cert and --tls-key are required');
  try {
    mutateOptions({ ratio: out.ratio, defaultLimit: out.defaultLimit });
  } catch (err) {
    throw usageError((err as Error).message);
  }
  return out as Args;
}

function number(flag: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) throw usageError(`${flag} must be an integer from ${min} to ${max}`);
  return n;
}

export async function run(argv: string[]): Promise<number> {
  const args = parse(argv);
  const log = jsonLogger();
  let server;
  try {
    server = createWebhookServer({ ...args, log });
    await server.listen(args.port, args.host);
  } catch (err) {
    // Unreadable or mismatched certificate files, a port in use: one line.
    process.stderr.write(`podshm webhook: ${(err as Error).message}\n`);
    return EXIT.FAILED;
  }
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  log('info', 'signal', { signal });
  await server.shutdown(SHUTDOWN_GRACE_MS);
  return EXIT.OK;
}

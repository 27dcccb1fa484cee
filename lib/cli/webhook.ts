// `podshm webhook`: the mutating admission webhook that gives every pod a shared /dev/shm.
import { jsonLogger } from '../webhook/log';
import { DEFAULT_RATIO } from '../webhook/mutate';
import { createWebhookServer } from '../webhook/server';

export const summary = 'admission webhook: a sized Memory emptyDir at /dev/shm in every pod';

const USAGE = `usage: podshm webhook --tls-cert FILE --tls-key FILE [--port 8443] [--host ADDR]
                      [--ratio ${DEFAULT_RATIO}] [--default-limit QUANTITY] [--request-timeout MS]

Serves AdmissionReview v1 on POST /mutate, GET /healthz and /readyz, and its Prometheus
metrics on GET /metrics, over HTTPS.
Reloads the certificate when its files change; stops gracefully on SIGTERM.
`;

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

class UsageError extends Error {}

function parse(argv: string[]): Args | 'help' {
  const out: Partial<Args> = { port: 8443, ratio: DEFAULT_RATIO, requestTimeout: 10_000 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h' || arg === '--help') return 'help';
    // --flag value, or --flag=value (the form Kubernetes manifests tend to use)
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq < 0 ? arg : arg.slice(0, eq);
    const value = eq < 0 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new UsageError(`${flag} needs a value`);
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
      default:
        throw new UsageError(`unknown option ${flag}`);
    }
  }
  if (!out.certFile || !out.keyFile) throw new UsageError('--tls-cert and --tls-key are required');
  return out as Args;
}

function number(flag: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) throw new UsageError(`${flag} must be an integer from ${min} to ${max}`);
  return n;
}

export async function run(argv: string[]): Promise<number> {
  let args: Args | 'help';
  try {
    args = parse(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`podshm webhook: ${err.message}\n${USAGE}`);
    return 2;
  }
  if (args === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const log = jsonLogger();
  let server;
  try {
    server = createWebhookServer({ ...args, log });
    await server.listen(args.port, args.host);
  } catch (err) {
    // Bad flags, unreadable or mismatched certificate files, a port in use: one line, exit 1.
    process.stderr.write(`podshm webhook: ${(err as Error).message}\n`);
    return 1;
  }
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  log('info', 'signal', { signal });
  await server.shutdown(SHUTDOWN_GRACE_MS);
  return 0;
}

// The webhook's own metrics, served at GET /metrics on its HTTPS port: requests by path
// and status, reviews by result (patched: the pod got its /dev/shm), connections that
// failed before a request (TLS or HTTP parsing), and how long /mutate took.
import { EXPOSITION_CONTENT_TYPE, Histogram, exposition, type MetricFamily } from '../core/exposition';

// Request paths are the client's to choose: anything else is 'other', so a scan of
// random URLs cannot grow the label set.
const PATHS = new Set(['/mutate', '/healthz', '/readyz', '/metrics']);
// An admission review should take milliseconds; the API server's timeout is 10 s at most.
const LATENCY_BOUNDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];

export { EXPOSITION_CONTENT_TYPE };

export class WebhookMetrics {
  readonly #requests = new Map<string, number>();
  readonly #reviews = new Map<string, number>();
  readonly #connectionErrors = new Map<string, number>();
  readonly #latency = new Histogram(LATENCY_BOUNDS);

  /** A request answered (status) or abandoned (status 0); `result` of an admission review, if it got one. */
  request(path: string | undefined, status: number, seconds: number, result: string | undefined): void {
    const p = path !== undefined && PATHS.has(path) ? path : 'other';
    bump(this.#requests, `${p}\0${status === 0 ? 'aborted' : status}`);
    if (result !== undefined) bump(this.#reviews, result);
    if (p === '/mutate') this.#latency.observe(seconds);
  }

  connectionError(layer: 'tls' | 'http'): void {
    bump(this.#connectionErrors, layer);
  }

  text(): string {
    const families: MetricFamily[] = [
      {
        name: 'podshm_webhook_requests_total',
        help: 'Requests by path and status (aborted: the client went before the answer).',
        type: 'counter',
        samples: [...this.#requests].map(([k, value]) => {
          const [path, status] = k.split('\0') as [string, string];
          return { labels: { path, status }, value };
        }),
      },
      {
        name: 'podshm_webhook_reviews_total',
        help: 'Admission reviews answered, by result: patched (the pod gets a /dev/shm emptyDir) or skipped.',
        type: 'counter',
        samples: ['patched', 'skipped'].map((result) => ({ labels: { result }, value: this.#reviews.get(result) ?? 0 })),
      },
      {
        name: 'podshm_webhook_connection_errors_total',
        help: 'Connections dropped before a request: a failed TLS handshake or an unparsable or too slow request.',
        type: 'counter',
        samples: ['tls', 'http'].map((layer) => ({ labels: { layer }, value: this.#connectionErrors.get(layer) ?? 0 })),
      },
      { name: 'podshm_webhook_review_duration_seconds', help: 'Time from a /mutate request to its answer.', type: 'histogram', samples: this.#latency.samples() },
    ];
    return exposition(families);
  }
}

function bump(m: Map<string, number>, key: string): void {
  m.set(key, (m.get(key) ?? 0) + 1);
}

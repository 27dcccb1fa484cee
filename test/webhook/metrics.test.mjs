// The webhook's own metrics at GET /metrics: after a known mix of requests (reviews that
// patch and that skip, a malformed body, an unknown path, a connection that is not TLS),
// the exposition, read with a real Prometheus parser, counts each exactly.
import t from 'tap';
import { createRequire } from 'node:module';
import { connect as netConnect } from 'node:net';
import { hasOpenssl, json, makeCert, review, send, startWebhook, tempDir } from '../fixtures/webhook-lib.mjs';

const require = createRequire(import.meta.url);
const parsePrometheus = require('parse-prometheus-text-format');

if (!hasOpenssl) {
  t.plan(0, 'openssl is not installed (Debian package openssl)');
  process.exit(0);
}

const sample = (families, name, labels = {}) => {
  const f = families.find((x) => x.name === name);
  return f?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels[k] === v));
};

t.test('requests, reviews, errors and latency, counted exactly', async (t) => {
  const cert = await makeCert(tempDir(t), 'metrics');
  const w = await startWebhook(t, cert.dir);
  const { port } = w;
  const update = JSON.stringify({ ...JSON.parse(review), request: { ...JSON.parse(review).request, operation: 'UPDATE' } });
  const requests = [
    { body: review, headers: json },
    { body: review, headers: json },
    { body: update, headers: json },
    { body: '{', headers: json },
    { method: 'GET', path: '/nope-1' },
    { method: 'GET', path: '/nope-2' },
  ];
  for (const r of requests) await send(port, cert.cert, r);
  // Cleartext on the TLS port: the handshake fails.
  await new Promise((resolve) => {
    const s = netConnect(port, '127.0.0.1', () => s.write('GET /metrics HTTP/1.1\r\n\r\n'));
    s.on('error', resolve);
    s.on('close', resolve);
  });
  // Each request is counted as its answer completes, just before its log line: wait for them all.
  await w.waitLog(() => w.lines.filter((e) => e.msg === 'request').length === requests.length);
  await w.waitLog((e) => e.msg === 'tls client error');

  const r = await send(port, cert.cert, { method: 'GET', path: '/metrics' });
  t.equal(r.status, 200);
  t.match(r.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  const families = parsePrometheus(r.body);
  const count = (name, labels) => Number(sample(families, name, labels)?.value);
  t.equal(count('podshm_webhook_reviews_total', { result: 'patched' }), 2);
  t.equal(count('podshm_webhook_reviews_total', { result: 'skipped' }), 1);
  t.equal(count('podshm_webhook_requests_total', { path: '/mutate', status: '200' }), 3);
  t.equal(count('podshm_webhook_requests_total', { path: '/mutate', status: '400' }), 1);
  t.equal(count('podshm_webhook_requests_total', { path: 'other', status: '404' }), 2, 'unknown paths share one label value');
  t.equal(count('podshm_webhook_connection_errors_total', { layer: 'tls' }), 1);
  const histogram = sample(families, 'podshm_webhook_review_duration_seconds');
  t.equal(Number(histogram.count), 4, 'every /mutate request is timed');
  t.ok(Number(histogram.sum) > 0);
  const buckets = Object.entries(histogram.buckets).map(([le, n]) => [Number(le), Number(n)]).sort((a, b) => a[0] - b[0]);
  t.ok(buckets.every(([, n], i) => i === 0 || n >= buckets[i - 1][1]), 'buckets are cumulative');
  t.equal(buckets.at(-1)[1], 4);
  t.equal((await send(port, cert.cert, { method: 'POST', path: '/metrics' })).status, 405);
});

// End to end over HTTPS: the `podshm webhook` command in its own process, on loopback,
// with certificates made here by openssl and laid out the way the kubelet mounts a
// cert-manager secret (files behind a "..data" symlink that a rotation swaps).
import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import jsonpatch from 'fast-json-patch';
import { Pod } from 'kubernetes-models/v1/Pod';
import { closedWithin, hasOpenssl, json, makeCert, peerFingerprint, review, secretVolume, send, startWebhook, swapData, tempDir } from '../fixtures/webhook-lib.mjs';
import { until } from '../helpers.mjs';

if (!hasOpenssl) {
  t.plan(0, 'openssl is not installed (Debian package openssl)');
  process.exit(0);
}
const dir = tempDir(t);

t.test('serves reviews, probes and bad input', async (t) => {
  const a = await makeCert(dir, 'a');
  const ca = a.cert;
  // The default request timeout (10 s): a loaded machine must not turn a review into a 408.
  const w = await startWebhook(t, a.dir);
  const { port } = w;

  t.test('probes', async (t) => {
    for (const path of ['/healthz', '/readyz']) {
      const r = await send(port, ca, { method: 'GET', path });
      t.equal(r.status, 200, path);
      t.same(r.json, { status: 'ok' });
    }
    t.equal((await send(port, ca, { method: 'HEAD', path: '/healthz' })).status, 200);
    t.equal((await send(port, ca, { method: 'POST', path: '/healthz' })).status, 405);
    t.equal((await send(port, ca, { method: 'GET', path: '/nope' })).status, 404);
    t.equal((await send(port, ca, { method: 'GET', path: '/mutate' })).status, 405);
  });

  t.test('a review from a Deployment pod comes back as a patch that yields a valid Pod', async (t) => {
    // The API server adds ?timeout=...s to the webhook path.
    const r = await send(port, ca, { path: '/mutate?timeout=10s', body: review, headers: json });
    t.equal(r.status, 200);
    t.equal(r.headers['content-type'], 'application/json');
    const input = JSON.parse(review);
    const { response } = r.json;
    t.equal(r.json.apiVersion, 'admission.k8s.io/v1');
    t.equal(r.json.kind, 'AdmissionReview');
    t.equal(response.uid, input.request.uid);
    t.equal(response.allowed, true);
    t.equal(response.patchType, 'JSONPatch');
    const patch = JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8'));
    const pod = jsonpatch.applyPatch(input.request.object, patch, true).newDocument;
    t.doesNotThrow(() => new Pod(pod).validate());
    t.same(pod.spec.volumes.at(-1), { name: 'podshm-shm', emptyDir: { medium: 'Memory', sizeLimit: '384Mi' } });
    for (const c of [...pod.spec.containers, pod.spec.initContainers[1]]) {
      t.ok(c.volumeMounts.some((m) => m.mountPath === '/dev/shm' && m.name === 'podshm-shm'), `${c.name} mounts /dev/shm`);
    }
    const logged = await w.waitLog((e) => e.msg === 'request' && e.uid === input.request.uid);
    t.match(logged, { level: 'info', method: 'POST', path: '/mutate', status: 200, namespace: 'shop', pod: 'telemetry-7c9d8b6f5d-*', result: 'patched', sizeLimit: '384Mi' });
    t.type(logged.ms, 'number');
    t.match(logged.time, /^\d{4}-\d\d-\d\dT/);
  });

  t.test('content type', async (t) => {
    t.equal((await send(port, ca, { body: review, headers: { 'Content-Type': 'application/json; charset=utf-8' } })).status, 200, 'with a charset');
    t.equal((await send(port, ca, { body: review, headers: { 'Content-Type': 'APPLICATION/JSON' } })).status, 200, 'any case');
    const r = await send(port, ca, { body: review, headers: { 'Content-Type': 'text/plain' } });
    t.equal(r.status, 415);
    t.match(r.json.error, /content-type must be application\/json/);
    t.equal((await send(port, ca, { body: review })).status, 415, 'none');
    t.equal((await send(port, ca, { body: review, headers: { 'Content-Type': 'application/yaml' } })).status, 415);
  });

  t.test('malformed or foreign bodies get a 400 or an allow without patch', async (t) => {
    for (const body of ['', '{', 'null', '[]', '"x"', '{"kind":"AdmissionReview"}', '\u0000\u0001garbage', '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{}}']) {
      const r = await send(port, ca, { body, headers: json });
      t.equal(r.status, 400, JSON.stringify(body));
      t.type(r.json.error, 'string');
    }
    const other = JSON.parse(review);
    other.request.kind = { group: 'apps', version: 'v1', kind: 'Deployment' };
    other.request.resource = { group: 'apps', version: 'v1', resource: 'deployments' };
    other.request.object = { kind: 'Deployment', spec: { template: other.request.object } };
    const r = await send(port, ca, { body: JSON.stringify(other), headers: json });
    t.equal(r.status, 200);
    t.same(r.json.response, { uid: other.request.uid, allowed: true }, 'another kind: allowed unchanged');
    const noObject = JSON.parse(review);
    delete noObject.request.object;
    const r2 = await send(port, ca, { body: JSON.stringify(noObject), headers: json });
    t.same(r2.json.response, { uid: noObject.request.uid, allowed: true }, 'no object: allowed unchanged');
  });

  t.test('body limit: 1 MiB', async (t) => {
    const MiB = 1024 * 1024;
    // Exactly 1 MiB of valid JSON (the review, padded with spaces) is fine.
    const exact = review + ' '.repeat(MiB - Buffer.byteLength(review));
    t.equal((await send(port, ca, { body: exact, headers: json })).status, 200, 'exactly 1 MiB');
    const over = exact + ' ';
    const declared = await send(port, ca, { body: over, headers: json });
    t.equal(declared.status, 413, 'Content-Length over 1 MiB');
    t.match(declared.json.error, /body over 1048576 bytes/);
    // Chunked (no Content-Length): counted as it arrives. The server answers and closes;
    // a client still writing may see the reset before the answer, which is fine too.
    const chunked = await new Promise((resolve) => {
      const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/mutate', ca, agent: false, headers: { ...json, 'Transfer-Encoding': 'chunked' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      });
      req.on('error', (err) => resolve(err.code));
      for (let i = 0; i < 4; i++) req.write(Buffer.alloc(MiB / 2, 0x20));
      req.end();
    });
    t.ok(chunked === 413 || chunked === 'ECONNRESET' || chunked === 'EPIPE', `chunked over 1 MiB: ${chunked}`);
  });

  t.test('slow and broken clients are cut off, never hang the server', async (t) => {
    // A server of its own with a 1 s request timeout, so the slow clients are cut off soon.
    const slowServer = await startWebhook(t, a.dir, ['--request-timeout', '1000']);
    const port = slowServer.port;
    const secure = async (write) => {
      const s = tlsConnect({ host: '127.0.0.1', port, ca });
      await new Promise((r) => s.once('secureConnect', r));
      if (write) s.write(write);
      return closedWithin(s, 20_000);
    };
    const raw = (write) => {
      const s = netConnect({ host: '127.0.0.1', port });
      if (write) s.write(write);
      return closedWithin(s, 20_000);
    };
    // All at once: each waits for --request-timeout (1 s) or the TLS handshake timeout.
    const [slow, silent, tcp, plain, garbage] = await Promise.all([
      // Headers, then a body that never completes.
      secure(`POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"apiVersion":`),
      secure(null),
      raw(null),
      raw('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'),
      secure('\u0000\u0001\u0002 not http at all\r\n\r\n'),
    ]);
    t.ok(slow.closed, 'a body that never completes: closed');
    t.match(slow.data, /^HTTP\/1\.1 408/, 'with a 408');
    t.ok(silent.closed, 'headers that never come: closed');
    t.ok(tcp.closed, 'a TCP connection that never starts TLS: closed');
    t.ok(plain.closed, 'plain HTTP on the TLS port: closed');
    t.ok(garbage.closed, 'garbage instead of HTTP: closed');
    t.match(garbage.data, /^HTTP\/1\.1 400/, 'with a 400');

    const gone = tlsConnect({ host: '127.0.0.1', port, ca });
    await new Promise((r) => gone.once('secureConnect', r));
    gone.write(`POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{`);
    gone.destroy();
    t.ok(await slowServer.waitLog((e) => e.msg === 'client error' && e.error === 'ERR_HTTP_REQUEST_TIMEOUT'), 'the slow client is logged');
    t.equal(slowServer.child.exitCode, null, 'that server is still running');
  });

  t.test('still healthy after all that, and answers requests in parallel', async (t) => {
    t.equal((await send(port, ca, { method: 'GET', path: '/healthz' })).status, 200);
    const uids = Array.from({ length: 20 }, (_, i) => `parallel-${i}`);
    const bodies = uids.map((uid) => JSON.stringify({ ...JSON.parse(review), request: { ...JSON.parse(review).request, uid } }));
    const results = await Promise.all(bodies.map((body) => send(port, ca, { body, headers: json })));
    t.same(results.map((r) => r.status), Array(20).fill(200));
    t.same(results.map((r) => r.json.response.uid), uids, 'each answer carries its own uid');
    t.equal(w.child.exitCode, null, 'the webhook is still running');
    t.notOk(/Error|at /.test(w.stderr()), 'nothing on stderr');
  });

  t.test('one JSON log line per request', async (t) => {
    // Lines may still be on their way through the pipe: wait for the last parallel ones.
    const logged = (uid) => w.lines.filter((e) => e.msg === 'request' && e.uid === uid).length;
    await until(() => Array.from({ length: 20 }, (_, i) => `parallel-${i}`).every(logged), 'the log lines of the 20 parallel requests');
    for (let i = 0; i < 20; i++) t.equal(logged(`parallel-${i}`), 1, `parallel-${i}: one line`);
    const requests = w.lines.filter((e) => e.msg === 'request');
    const count = (status) => requests.filter((e) => e.status === status).length;
    t.equal(count(415), 3);
    t.equal(count(404), 1);
    t.equal(count(405), 2);
    t.equal(count(400), 8);
    // 45 requests came through whole (6 probes, 1 review, 5 content types, 10 malformed
    // or foreign, 2 at the body limit, 1 health check, 20 in parallel); the chunked one
    // may or may not (the slow clients went to a server of their own).
    t.ok(requests.length === 45 || requests.length === 46, `${requests.length} request lines`);
    for (const e of requests) {
      t.ok(typeof e.time === 'string' && typeof e.method === 'string' && typeof e.path === 'string', 'time, method, path');
      t.ok(e.status !== undefined || e.aborted === true, 'a status, or marked aborted');
    }
  });
});

t.test('certificate reload when the secret volume is rotated', async (t) => {
  const a = await makeCert(dir, 'reload/..v1', 'first');
  const b = await makeCert(dir, 'reload/..v2', 'second');
  const c = await makeCert(dir, 'reload/..v3', 'third');
  const vol = secretVolume(join(dir, 'reload'), '..v1');
  const w = await startWebhook(t, vol);
  const fp = (cert) => new X509Certificate(cert).fingerprint256;
  // Trust all three; the test reads which one is presented.
  const ca = [a.cert, b.cert, c.cert];
  t.equal(await peerFingerprint(w.port, ca), fp(a.cert), 'serves the first certificate');

  swapData(vol, '..v2');
  const logged = await w.waitLog((e) => e.msg === 'certificate reloaded' && e.subject === 'CN=second');
  t.equal(logged.fingerprint256, fp(b.cert));
  t.equal(await peerFingerprint(w.port, ca), fp(b.cert), 'serves the second certificate after the swap');
  const r = await send(w.port, b.cert, { body: review, headers: json });
  t.equal(r.status, 200, 'a client trusting only the new certificate gets its review');

  // A broken rotation (certificate of one pair, key of another) is refused; the current pair stays.
  const broken = join(vol, '..v4');
  mkdirSync(broken);
  writeFileSync(join(broken, 'tls.crt'), c.cert);
  writeFileSync(join(broken, 'tls.key'), a.key);
  swapData(vol, '..v4');
  const failed = await w.waitLog((e) => e.msg === 'certificate reload failed; keeping the current certificate');
  t.equal(failed.level, 'warn');
  t.equal(await peerFingerprint(w.port, ca), fp(b.cert), 'still the second certificate');

  // A fixed rotation is picked up.
  swapData(vol, '..v3');
  await w.waitLog((e) => e.msg === 'certificate reloaded' && e.subject === 'CN=third');
  t.equal(await peerFingerprint(w.port, ca), fp(c.cert), 'serves the third certificate');
});

t.test('certificate reload when plain files are rewritten in place', async (t) => {
  const a = await makeCert(dir, 'plain', 'plain-first');
  const b = await makeCert(dir, 'plain-next', 'plain-second');
  const w = await startWebhook(t, a.dir);
  writeFileSync(join(a.dir, 'tls.crt'), b.cert);
  writeFileSync(join(a.dir, 'tls.key'), b.key);
  await w.waitLog((e) => e.msg === 'certificate reloaded' && e.subject === 'CN=plain-second');
  t.equal(await peerFingerprint(w.port, [a.cert, b.cert]), new X509Certificate(b.cert).fingerprint256);
});

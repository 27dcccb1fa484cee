// The `podshm webhook` process: SIGTERM with a request in flight, and start-up errors.
import t from 'tap';
import { join } from 'node:path';
import { request } from 'node:https';
import { hasOpenssl, json, makeCert, review, runCli, send, startWebhook, tempDir } from '../fixtures/webhook-lib.mjs';

if (!hasOpenssl) {
  t.plan(0, 'openssl is not installed (Debian package openssl)');
  process.exit(0);
}
const dir = tempDir(t);

t.test('SIGTERM: finishes the request in flight, refuses new ones, exits 0', async (t) => {
  const a = await makeCert(dir, 'term');
  const w = await startWebhook(t, a.dir, ['--request-timeout', '20000']);
  const half = Math.floor(review.length / 2);
  let finish;
  // Expect: 100-continue makes the server say when it has read the request's headers, so
  // the signal comes while the request is surely in flight.
  const arrived = new Promise((resolve) => (finish = resolve));
  const inflight = new Promise((resolve, reject) => {
    const headers = { ...json, 'Content-Length': Buffer.byteLength(review), Expect: '100-continue' };
    const req = request({ host: '127.0.0.1', port: w.port, method: 'POST', path: '/mutate', ca: a.cert, agent: false, headers }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, connection: res.headers.connection, body }));
    });
    req.on('error', reject);
    req.on('continue', () => req.write(review.slice(0, half), () => finish(() => req.end(review.slice(half)))));
  });
  const answer = await arrived;
  w.child.kill('SIGTERM');
  await w.waitLog((e) => e.msg === 'shutting down');
  // Refused outright, or reset before TLS if the kernel queued it just before the listener closed.
  await t.rejects(send(w.port, a.cert, { method: 'GET', path: '/healthz' }), { code: /^(ECONNREFUSED|ECONNRESET)$/ }, 'new connections are not served');
  answer();
  const r = await inflight;
  t.equal(r.status, 200, 'the request in flight is answered');
  t.equal(JSON.parse(r.body).response.uid, JSON.parse(review).request.uid);
  t.equal(r.connection, 'close', 'and its connection closed');
  const { code, signal } = await w.exited;
  t.equal(code, 0, 'exit code 0');
  t.equal(signal, null);
  t.ok(w.lines.some((e) => e.msg === 'stopped'), 'logged "stopped"');
});

t.test('start-up errors are one clear line: exit 2 for the command line, 3 for what could not start', async (t) => {
  const a = await makeCert(dir, 'startup');
  const b = await makeCert(dir, 'startup-other');
  const certs = ['--tls-cert', join(a.dir, 'tls.crt'), '--tls-key', join(a.dir, 'tls.key'), '--host', '127.0.0.1', '--port', '0'];
  const cases = [
    ['no flags: usage', [], 2, /--tls-cert and --tls-key are required[\s\S]*usage: podshm webhook/],
    ['unknown flag', [...certs, '--bogus', '1'], 2, /unknown option --bogus/],
    ['flag without a value', [...certs, '--ratio'], 2, /--ratio needs a value/],
    ['port out of range', [...certs, '--port', '70000'], 2, /--port must be an integer from 0 to 65535/],
    ['missing certificate file', ['--tls-cert', join(dir, 'missing.crt'), '--tls-key', join(a.dir, 'tls.key'), '--port', '0'], 3, /^podshm webhook: ENOENT/],
    ['key of another certificate', ['--tls-cert', join(a.dir, 'tls.crt'), '--tls-key', join(b.dir, 'tls.key'), '--port', '0'], 3, /^podshm webhook: .*key values mismatch/],
    ['ratio above 1', [...certs, '--ratio', '2'], 2, /"ratio" argument must be a number > 0 and <= 1/],
    ['default limit not a quantity', [...certs, '--default-limit', 'lots'], 2, /"defaultLimit" argument must be a Kubernetes quantity/],
    ['misspelled flag', [...certs, '--prot', '1'], 2, /unknown option --prot; did you mean '--port'\?/],
  ];
  const results = await Promise.all(cases.map(([, args]) => runCli(args)));
  cases.forEach(([name, , code, stderr], i) => {
    t.equal(results[i].code, code, `${name}: exit ${code}`);
    t.match(results[i].stderr, stderr, `${name}: message`);
  });
  const help = await runCli(['--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /usage: podshm webhook/);

  const w = await startWebhook(t, a.dir);
  const r = await runCli([...certs.slice(0, -1), String(w.port)]);
  t.equal(r.code, 3, 'port in use: could not start');
  t.match(r.stderr, /EADDRINUSE/);
  w.child.kill('SIGTERM');
  t.equal((await w.exited).code, 0);
});

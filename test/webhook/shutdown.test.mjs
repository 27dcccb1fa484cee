// `podshm webhook` on SIGTERM: /readyz answers 503 to a request that was under way, idle
// keep-alive connections are closed at once, a request stuck mid-body is cut off when
// the grace period ends, and the process exits 0. Every step waits for the one before
// it (a log line, a socket event, the server's receive queue drained); the deadlines
// are only hang guards.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { hasOpenssl, makeCert, startWebhook, tempDir } from '../fixtures/webhook-lib.mjs';
import { until, within } from '../helpers.mjs';

if (!hasOpenssl) {
  t.plan(0, 'openssl is not installed (Debian package openssl)');
  process.exit(0);
}

// Whether the server has read everything the client on `clientPort` sent it: the
// server side of the loopback connection has nothing left in its receive queue.
function serverHasRead(serverPort, clientPort) {
  const hex = (port) => port.toString(16).toUpperCase().padStart(4, '0');
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 5) continue;
    if (f[1].endsWith(`:${hex(serverPort)}`) && f[2].endsWith(`:${hex(clientPort)}`)) return f[4].split(':')[1] === '00000000';
  }
  return false;
}

// A TLS connection that has sent `text` and whose bytes the server has read.
async function connection(port, ca, text) {
  const s = tlsConnect({ host: '127.0.0.1', port, ca });
  let data = '';
  s.on('data', (d) => (data += d));
  s.on('error', () => {});
  const closed = new Promise((resolve) => s.once('close', resolve));
  await within(new Promise((resolve) => s.once('secureConnect', resolve)), 'the TLS handshake');
  await new Promise((resolve) => s.write(text, resolve));
  await until(() => serverHasRead(port, s.localPort), 'the server reading what the client sent');
  return { s, data: () => data, closed };
}

t.test('SIGTERM: readyz 503, idle connections closed, a stuck request cut off after the grace period', async (t) => {
  const dir = tempDir(t);
  const a = await makeCert(dir, 'a');
  const w = await startWebhook(t, a.dir);
  const ca = a.cert;

  // A keep-alive connection that made one request and sits idle.
  const idle = await connection(w.port, ca, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
  await until(() => idle.data().endsWith('{"status":"ok"}'), 'the answer on the keep-alive connection');
  t.match(idle.data(), /^HTTP\/1\.1 200/);
  // A readiness probe whose headers are not finished when the signal comes.
  const probe = await connection(w.port, ca, 'GET /readyz HTTP/1.1\r\nHost: x\r\n');
  // A review whose body never comes.
  const stuck = await connection(w.port, ca, 'POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{');

  w.child.kill('SIGTERM');
  await w.waitLog((e) => e.msg === 'shutting down');
  await within(idle.closed, 'the idle keep-alive connection closing');
  t.pass('the idle keep-alive connection was closed');

  probe.s.write('\r\n');
  await within(probe.closed, 'the readiness probe answered and closed');
  t.match(probe.data(), /^HTTP\/1\.1 503 /, 'readyz: 503 once shutting down');
  t.match(probe.data(), /\r\nConnection: close\r\n/i, 'and the connection is closed after it');
  t.match(probe.data(), /"error":"shutting down"/);

  await within(stuck.closed, 'the stuck request being cut off', 60_000);
  t.pass('the stuck request was cut off');
  t.ok(w.lines.some((e) => e.msg === 'grace period over; closing the remaining connections'), 'by the end of the grace period');
  t.same(await within(w.exited, 'the webhook exiting'), { code: 0, signal: null }, 'exit 0');
  t.ok(w.lines.some((e) => e.msg === 'stopped'));
});

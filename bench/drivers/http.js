// HTTP/1.1 with keep-alive through node:http, the way a sidecar is called today: a POST
// whose body is the request, answered by a body. Variant `transport`: 'unix' (a Unix
// socket) or 'tcp' (127.0.0.1). With calls in flight the client's agent keeps a socket
// for each: node:http never pipelines, so concurrent calls are concurrent connections.
'use strict';
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const fs = require('node:fs');
const { once } = require('node:events');
const { caller, answerer } = require('../lib/calls');

let counter = 0;

const problem = (kind) => (kind === 'rtt' || kind === 'rate' || kind === 'inflight' ? null : 'request/response only');

// A free port for TCP: taken by a listener and given back at once.
async function setup(kind, p, v) {
  if (v.transport !== 'tcp') return { file: path.join(os.tmpdir(), `podshm-bench-http-${process.pid}-${++counter}.sock`) };
  const probe = net.createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address();
  probe.close();
  return { port };
}

const cleanup = (res) => res.file && fs.rmSync(res.file, { force: true });

const body = (stream) =>
  new Promise((resolve, reject) => {
    const parts = [];
    stream.on('data', (d) => parts.push(d));
    stream.on('end', () => resolve(parts.length === 1 ? parts[0] : Buffer.concat(parts)));
    stream.on('error', reject);
  });

async function endpoint({ side, res, p }) {
  const where = res.file ? { socketPath: res.file } : { host: '127.0.0.1', port: res.port };
  if (side === 'a') {
    const agent = new http.Agent({ keepAlive: true, maxSockets: p.inflight ?? 1 });
    const post = (m) =>
      new Promise((resolve, reject) => {
        const req = http.request({ ...where, agent, method: 'POST', path: '/', headers: { 'content-length': m.length } }, (r) => body(r).then(resolve, reject));
        req.on('error', reject);
        req.end(Buffer.from(m.buffer, m.byteOffset, m.length));
      });
    return caller(post, () => agent.destroy());
  }
  const b = answerer();
  const server = http.createServer(async (req, r) => {
    const reply = b.answer(await body(req));
    r.end(reply === undefined ? undefined : Buffer.from(reply.buffer, reply.byteOffset, reply.length));
  });
  server.keepAliveTimeout = 60_000;
  if (res.file) server.listen(res.file);
  else server.listen(res.port, '127.0.0.1');
  await once(server, 'listening');
  return b.endpoint(() => {
    server.closeAllConnections();
    server.close();
  });
}

module.exports = { problem, setup, cleanup, endpoint };

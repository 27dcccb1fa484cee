// @grpc/grpc-js over a Unix socket: a unary method whose request and response are the raw
// bytes (identity serializers, no .proto), on one channel, so one HTTP/2 connection
// carries every call, in flight together or not, as a gRPC client does.
'use strict';
const os = require('node:os');
const path = require('node:path');
const fs = require('node:fs');
const { caller, answerer } = require('../lib/calls');

let grpc = null;
let missing = null;
try {
  grpc = require('@grpc/grpc-js');
} catch (err) {
  missing = `@grpc/grpc-js is not installed (${err.code ?? err.message})`;
}

let counter = 0;

const problem = (kind) => missing ?? (kind === 'rtt' || kind === 'rate' || kind === 'inflight' ? null : 'request/response only');
const setup = () => ({ file: path.join(os.tmpdir(), `podshm-bench-grpc-${process.pid}-${++counter}.sock`) });
const cleanup = (res) => fs.rmSync(res.file, { force: true });

const bytes = (m) => Buffer.from(m.buffer, m.byteOffset, m.length);
const identity = (b) => b;
const SERVICE = {
  echo: {
    path: '/podshm.bench.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

async function endpoint({ side, res }) {
  const address = `unix:${res.file}`;
  if (side === 'a') {
    const Client = grpc.makeGenericClientConstructor(SERVICE, 'Echo');
    const client = new Client(address, grpc.credentials.createInsecure());
    const call = (m) =>
      new Promise((resolve, reject) => {
        client.echo(bytes(m), (err, r) => (err ? reject(err) : resolve(r)));
      });
    return caller(call, () => client.close());
  }
  const b = answerer();
  const server = new grpc.Server();
  server.addService(SERVICE, {
    echo(c, callback) {
      const reply = b.answer(c.request);
      callback(null, reply === undefined ? Buffer.alloc(0) : bytes(reply));
    },
  });
  await new Promise((resolve, reject) => server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
  return b.endpoint(() => server.forceShutdown());
}

module.exports = { problem, setup, cleanup, endpoint };

// podshm's Service and Client (docs/service.md): side a is the client, each send a
// call() whose response is the echo; side b serves, the role's reply being the
// handler's return value. Both on the event loop, waiting as by default unless the row
// names a `wait` (both sides then use it).
'use strict';
const { Client, Service } = require('podshm');
const { caller, answerer } = require('../lib/calls');

let counter = 0;

const problem = (kind) => (kind === 'rtt' || kind === 'rate' || kind === 'inflight' ? null : 'request/response only');
const setup = () => ({ name: `/podshm-bench-svc-${process.pid}-${++counter}` });

function cleanup(res) {
  try {
    Service.unlink(res.name);
  } catch (err) {
    if (err.code !== 'ENOENT') throw err;
  }
}

function endpoint({ side, res, v }) {
  const opts = v.wait ? { wait: v.wait } : undefined;
  if (side === 'a') {
    const client = Client.connect(res.name, opts);
    return caller((m) => client.call(m), () => client.close());
  }
  const b = answerer();
  const service = Service.serve(res.name, b.answer, opts);
  return b.endpoint(() => service.close());
}

module.exports = { problem, setup, cleanup, endpoint };

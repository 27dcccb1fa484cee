// podshm's Service and Client (docs/service.md): side a is the client, each send a
// call() whose response is the echo; side b serves, the role's reply being the
// handler's return value. Both on the event loop, waiting as by default unless the row
// names a `wait` (both sides then use it).
'use strict';
const { Client, Service } = require('podshm');

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
    let handler = null;
    return {
      async: true,
      send(m) {
        // The last, empty call stops the server, which may close before it answers.
        if (m.length === 0) return client.call(m).catch(() => {});
        client.call(m).then((r) => handler(r, 0, r.length));
        return undefined;
      },
      onMessage(h) {
        handler = h;
      },
      close: () => client.close(),
    };
  }
  let handler = null;
  let reply;
  const service = Service.serve(res.name, (request) => {
    reply = undefined;
    handler(request, 0, request.length);
    return reply;
  }, opts);
  return {
    async: true,
    send(m) {
      reply = m;
    },
    onMessage(h) {
      handler = h;
    },
    close: () => service.close(),
  };
}

module.exports = { problem, setup, cleanup, endpoint };

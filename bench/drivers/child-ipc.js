// child_process IPC (process.send, serialization 'advanced', which carries typed arrays):
// it links a parent to the child it forked, so the measuring side forks its peer.
'use strict';
const { fork } = require('node:child_process');
const path = require('node:path');

const PEER = path.join(__dirname, '..', 'peer.js');

function problem(kind, p) {
  if ((p.producers ?? 1) > 1) return 'process.send links a parent to one child: no shared sink for several producers';
  if (kind === 'idle') return 'not measured idle';
  return null;
}

function channelEndpoint(port) {
  return {
    async: true,
    // send() is false once the channel's backlog is long: let it flush.
    send: (m) => (port.send(m) ? undefined : new Promise((resolve) => setImmediate(resolve))),
    onMessage(h) {
      port.on('message', (m) => h(m, 0, m.length));
    },
    close() {
      if (port.connected) port.disconnect();
    },
  };
}

function endpoint(spec) {
  if (spec.side === 'b') {
    process.send('ready');
    return channelEndpoint(process);
  }
  // The forked side reports through the same stdout as this one.
  const child = fork(PEER, [JSON.stringify(spec.peer)], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ep = channelEndpoint(child);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  ep.close = async () => {
    await exited;
  };
  return new Promise((resolve) => child.once('message', () => resolve(ep)));
}

module.exports = { problem, forksPeer: true, endpoint, setup: () => ({}), cleanup: () => {} };

// POSIX message queues, 64-byte messages between two processes: round-trip latency
// and one-way throughput, C (blocking mq_send/mq_receive) as the baseline.
'use strict';
const path = require('node:path');
const { MessageQueue } = require('podshm');

const SIZE = 64;
const ROUND_TRIPS = 20_000;
const ONE_WAY = 200_000;
const peer = path.join(__dirname, 'mq-peer.js');

function queues(count) {
  const tag = `/podshm-bench-mq-${process.pid}-${Date.now()}`;
  return Array.from({ length: count }, (_, i) => {
    const name = `${tag}-${i}`;
    MessageQueue.open(name, { create: true, exclusive: true, maxMessages: 10, messageSize: SIZE }).close();
    return name;
  });
}

async function pair(suite, [fromCmd, fromArgs], [toCmd, toArgs]) {
  const other = suite.capture(fromCmd, fromArgs);
  const out = await suite.capture(toCmd, toArgs);
  await other;
  return Number(out.trim());
}

async function run(suite) {
  const c = suite.cProgram('mq');
  const node = process.execPath;
  const names = queues(2);
  try {
    const [req, resp] = names;
    const roundTrip = async (label, echo, ping) =>
      suite.record('mq round trip, 64 B', label, await pair(suite, echo, ping), 'ns');
    await roundTrip('C mq_send/mq_receive', [c, ['echo', req, resp, ROUND_TRIPS]], [c, ['ping', req, resp, ROUND_TRIPS, SIZE]]);
    await roundTrip('podshm send/receiveInto (blocking)', [node, [peer, 'echo', req, resp, ROUND_TRIPS]], [node, [peer, 'ping', req, resp, ROUND_TRIPS, SIZE]]);
    await roundTrip('podshm receiveIntoAsync (event loop)', [node, [peer, 'echo-async', req, resp, ROUND_TRIPS]], [node, [peer, 'ping-async', req, resp, ROUND_TRIPS, SIZE]]);

    const oneWay = async (label, send, recv) => suite.record('mq one-way, 64 B', label, await pair(suite, send, recv), 'msg/s');
    await oneWay('C mq_send -> mq_receive', [c, ['send', req, ONE_WAY, SIZE]], [c, ['recv', req, ONE_WAY]]);
    await oneWay('podshm send -> receiveInto (blocking)', [node, [peer, 'send', req, ONE_WAY, SIZE]], [node, [peer, 'recv', req, ONE_WAY]]);
    await oneWay('podshm send -> receiveIntoAsync', [node, [peer, 'send', req, ONE_WAY, SIZE]], [node, [peer, 'recv-async', req, ONE_WAY]]);
  } finally {
    for (const name of names) MessageQueue.unlink(name);
  }
}

module.exports = { run };

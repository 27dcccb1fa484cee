// The consumer container: creates the channel in the pod's shared /dev/shm and reads
// telemetry records from the producer container, checking their order and reporting
// messages/s and latency once a second (one JSON line each). It lives through restarts
// of the producer container: the receiver waits for the next producer (producersGone:
// 'wait', the default).
//
// Environment: PODSHM_CHANNEL (default "telemetry"), CAPACITY (ring bytes, a power of
// two, default 8 MiB), MESSAGES (stop after this many; 0, the default, runs until SIGTERM).
'use strict';
const { Channel } = require('podshm');

const name = process.env.PODSHM_CHANNEL || 'telemetry';
const capacity = Number(process.env.CAPACITY || 8 << 20);
const limit = Number(process.env.MESSAGES || 0);

function openChannel() {
  try {
    return Channel.create(name, { capacity, producers: 'single', wait: 'adaptive' });
  } catch (err) {
    // A restarted consumer finds the channel it made before (the Memory emptyDir
    // outlives container restarts) and takes over where the last one stopped.
    if (err.code !== 'EEXIST') throw err;
    return Channel.open(name);
  }
}

const log = (fields) => process.stdout.write(JSON.stringify({ time: new Date().toISOString(), ...fields }) + '\n');

async function main() {
  const ch = openChannel();
  const rx = ch.receiver();
  let stopping = false;
  const stop = () => {
    stopping = true;
    rx.close(); // ends the iteration below
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  log({ msg: 'consumer ready', channel: ch.name, capacity: ch.capacity });

  let expected = -1n;
  let received = 0;
  let outOfOrder = 0;
  let window = { count: 0, latencyNs: 0n, maxNs: 0n, since: process.hrtime.bigint() };
  // Each message is a copy (the default form): a record the consumer owns.
  for await (const msg of rx) {
    // Record layout (producer.js): u64 sequence, u64 send time (CLOCK_MONOTONIC ns,
    // one clock for every container on the node), then the payload.
    const view = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
    const seq = view.getBigUint64(0, true);
    const latency = process.hrtime.bigint() - view.getBigUint64(8, true);
    // A producer numbers its records from 0: a 0 is a new producer, after a restart.
    if (seq === 0n && expected > 0n) log({ msg: 'a new producer', afterSeq: Number(expected - 1n) });
    else if (expected >= 0n && seq !== expected) outOfOrder++;
    expected = seq + 1n;
    received++;
    window.count++;
    window.latencyNs += latency;
    if (latency > window.maxNs) window.maxNs = latency;
    const now = process.hrtime.bigint();
    if (now - window.since >= 1_000_000_000n) {
      const secs = Number(now - window.since) / 1e9;
      log({ msg: 'rate', messagesPerSecond: Math.round(window.count / secs), meanLatencyUs: Number(window.latencyNs / BigInt(window.count)) / 1000, maxLatencyUs: Number(window.maxNs) / 1000, received, outOfOrder, depth: ch.stats().depth });
      window = { count: 0, latencyNs: 0n, maxNs: 0n, since: now };
    }
    if (limit !== 0 && received >= limit) break;
  }
  log({ msg: 'consumer done', received, outOfOrder, stopped: stopping });
  ch.close();
  if (limit !== 0) ch.unlink(); // a bounded run (a test) leaves nothing behind
  return outOfOrder === 0 ? 0 : 1;
}

main().then(
  (code) => (process.exitCode = code),
  (err) => {
    process.stderr.write(`consumer: ${err.stack || err}\n`);
    process.exitCode = 1;
  },
);

// The producer container: opens the channel that the consumer container creates in the
// pod's shared /dev/shm (waiting for it: both containers start at once) and sends
// telemetry records into it, zero copy: each record is written straight into the ring
// with reserve()/commit().
//
// Environment: PODSHM_CHANNEL (default "telemetry"), MESSAGE_SIZE (bytes, at least 16,
// default 64), RATE (messages/s, 0 = as fast as the consumer takes them; default 1000),
// MESSAGES (stop after this many; 0, the default, runs until SIGTERM).
'use strict';
const { Channel } = require('podshm');

const name = process.env.PODSHM_CHANNEL || 'telemetry';
const size = Math.max(16, Number(process.env.MESSAGE_SIZE || 64));
const rate = Number(process.env.RATE ?? 1000);
const limit = Number(process.env.MESSAGES || 0);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (fields) => process.stdout.write(JSON.stringify({ time: new Date().toISOString(), ...fields }) + '\n');

async function main() {
  const abort = new AbortController();
  process.once('SIGTERM', () => abort.abort());
  process.once('SIGINT', () => abort.abort());
  log({ msg: 'waiting for the consumer to create the channel', channel: name });
  // Resolves once the channel exists (the directory is watched: no polling).
  const ch = await Channel.open(name, { wait: true, signal: abort.signal });
  const tx = ch.sender();
  log({ msg: 'producer ready', channel: ch.name, messageSize: size, rate });

  const payload = Buffer.alloc(size - 16, 'podshm ');
  let seq = 0n;
  const start = process.hrtime.bigint();
  try {
    while (!abort.signal.aborted && (limit === 0 || seq < BigInt(limit))) {
      // reserve() waits on the event loop (backpressure) while the ring is full;
      // SIGTERM aborts the wait.
      let slot;
      try {
        slot = await tx.reserve(size, { signal: abort.signal });
      } catch (err) {
        if (err.code === 'ABORT_ERR') break;
        throw err;
      }
      const view = new DataView(slot.bytes.buffer, slot.bytes.byteOffset, size);
      view.setBigUint64(0, seq, true);
      view.setBigUint64(8, process.hrtime.bigint(), true);
      slot.bytes.set(payload, 16);
      slot.commit(size);
      seq++;
      if (rate > 0) {
        // Pace against the start, so the rate holds however long each send took.
        const due = start + (seq * 1_000_000_000n) / BigInt(rate);
        const ahead = Number(due - process.hrtime.bigint()) / 1e6;
        if (ahead >= 1) await sleep(ahead);
      } else if ((seq & 0xffffn) === 0n) {
        await new Promise((r) => setImmediate(r)); // let signals in
      }
    }
  } finally {
    log({ msg: 'producer done', sent: Number(seq) });
    tx.close();
    ch.close();
  }
  return 0;
}

main().then(
  (code) => (process.exitCode = code),
  (err) => {
    process.stderr.write(`producer: ${err.stack || err}\n`);
    process.exitCode = 1;
  },
);

// The Node side of bench/mq.bench.js, mirroring bench/c/mq.c. Blocking calls where the
// C program blocks; the -async modes wait on the event loop instead.
//   mq-peer.js echo|echo-async <req> <resp> <n>
//   mq-peer.js ping|ping-async <req> <resp> <n> <size>
//   mq-peer.js send <q> <n> <size>
//   mq-peer.js recv|recv-async <q> <n>
'use strict';
const { MessageQueue } = require('podshm');

async function main() {
  const [mode, a, b, c, d] = process.argv.slice(2);
  if (mode === 'echo' || mode === 'echo-async') {
    const req = MessageQueue.open(a, { readOnly: true });
    const resp = MessageQueue.open(b, { writeOnly: true });
    const buf = Buffer.alloc(req.messageSize);
    for (let i = 0, n = Number(c); i < n; i++) {
      const { size } = mode === 'echo' ? req.receiveInto(buf) : await req.receiveIntoAsync(buf);
      resp.send(buf.subarray(0, size));
    }
  } else if (mode === 'ping' || mode === 'ping-async') {
    const req = MessageQueue.open(a, { writeOnly: true });
    const resp = MessageQueue.open(b, { readOnly: true });
    const n = Number(c);
    const out = Buffer.alloc(Number(d), 1);
    const buf = Buffer.alloc(resp.messageSize);
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      req.send(out);
      if (mode === 'ping') resp.receiveInto(buf);
      else await resp.receiveIntoAsync(buf);
    }
    console.log(Number(process.hrtime.bigint() - start) / n);
  } else if (mode === 'send') {
    const q = MessageQueue.open(a, { writeOnly: true });
    const out = Buffer.alloc(Number(c), 2);
    for (let i = 0, n = Number(b); i < n; i++) q.send(out);
  } else if (mode === 'recv' || mode === 'recv-async') {
    const q = MessageQueue.open(a, { readOnly: true });
    const buf = Buffer.alloc(q.messageSize);
    const n = Number(b);
    let start = 0n;
    for (let i = 0; i < n; i++) {
      if (mode === 'recv') q.receiveInto(buf);
      else await q.receiveIntoAsync(buf);
      if (i === 0) start = process.hrtime.bigint();
    }
    console.log((n - 1) / (Number(process.hrtime.bigint() - start) / 1e9));
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});

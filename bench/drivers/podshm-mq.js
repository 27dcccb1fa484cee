// podshm's MessageQueue (POSIX mq). Variant `loop`: 'sync' (blocking send/receiveInto) or
// 'async' (receiveInto on the event loop; trySend, then send when full).
'use strict';
const fs = require('node:fs');
const { MessageQueue } = require('podshm');
const { STOP, fail } = require('../lib/roles');

let counter = 0;
const limit = () => Number(fs.readFileSync('/proc/sys/fs/mqueue/msgsize_max', 'utf8'));

function problem(kind, p) {
  if (kind === 'idle') return 'not measured idle';
  if (p.size > limit()) return `a message of ${p.size} B is over this kernel's msgsize_max (${limit()} B)`;
  return null;
}

function setup(kind, p) {
  const names = [];
  for (let i = 0; i < (kind === 'oneway' ? 1 : 2); i++) {
    const name = `/podshm-bench-mq-${process.pid}-${++counter}`;
    MessageQueue.create(name, { exclusive: true, maxMessages: 10, messageSize: p.size }).close();
    names.push(name);
  }
  return { names };
}

const cleanup = (res) => res.names.forEach((n) => MessageQueue.unlink(n));

function endpoint({ kind, side, res, v }) {
  const out = kind === 'oneway' ? res.names[0] : res.names[side === 'a' ? 0 : 1];
  const back = kind === 'oneway' ? res.names[0] : res.names[side === 'a' ? 1 : 0];
  const tx = kind === 'oneway' && side === 'b' ? null : MessageQueue.open(out, { writeOnly: true });
  const rx = kind === 'oneway' && side === 'a' ? null : MessageQueue.open(back, { readOnly: true });
  const buf = rx ? Buffer.alloc(rx.messageSize) : null;
  const close = () => [tx, rx].forEach((q) => q?.close());
  if (v.loop === 'async') {
    return {
      async: true,
      send: (m) => (tx.trySend(m) ? undefined : tx.send(m)),
      onMessage(h) {
        (async () => {
          for (;;) {
            const { size } = await rx.receiveInto(buf);
            const r = h(buf, 0, size);
            if (r === STOP) return;
            if (r) await r;
          }
        })().catch(fail);
      },
      close,
    };
  }
  return {
    send: (m) => tx.sendSync(m),
    receive() {
      const { size } = rx.receiveIntoSync(buf);
      return size === buf.length ? buf : buf.subarray(0, size);
    },
    close,
  };
}

module.exports = { problem, setup, cleanup, endpoint };

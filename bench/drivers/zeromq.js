// zeromq 6 over ipc://: PUSH/PULL one way, REQ/REP for round trips. Each send is awaited,
// as zeromq.js allows one send in progress per socket, and sends a copy: zeromq.js may
// keep a reference to a large buffer until the message has gone, after the send's
// promise has settled, so a caller that reuses its buffer must copy.
'use strict';
const os = require('node:os');
const path = require('node:path');
const fs = require('node:fs');
const { STOP, fail } = require('../lib/roles');

let counter = 0;

function load() {
  try {
    return require('zeromq');
  } catch (err) {
    return err;
  }
}

function problem(kind) {
  const zmq = load();
  if (zmq instanceof Error) return `zeromq does not load here: ${zmq.message.split('\n')[0]}`;
  return kind === 'idle' ? 'not measured idle' : null;
}

const setup = () => ({ file: path.join(os.tmpdir(), `podshm-bench-zmq-${process.pid}-${++counter}`) });
const cleanup = (res) => [res.file, `${res.file}.done`].forEach((f) => fs.rmSync(f, { force: true }));

async function endpoint({ kind, side, res }) {
  const zmq = load();
  const oneway = kind === 'oneway';
  const Socket = oneway ? (side === 'a' ? zmq.Push : zmq.Pull) : side === 'a' ? zmq.Request : zmq.Reply;
  // linger: a producer's last messages still go out after it closes.
  const sock = new Socket({ linger: 10_000 });
  const addr = `ipc://${res.file}`;
  if (side === 'b') await sock.bind(addr);
  else sock.connect(addr);
  return {
    async: true,
    send: (m) => sock.send(Buffer.from(m)),
    onMessage(h) {
      (async () => {
        for await (const [m] of sock) {
          const r = h(m, 0, m.length);
          if (r === STOP) return;
          if (r) await r;
        }
      })().catch(fail);
    },
    async close() {
      // zeromq.js drops what is still queued when the process exits, linger or not: the
      // sending side keeps its socket open until the other has said, with a file, that it
      // has everything (the last message included).
      if (side === 'b') fs.writeFileSync(`${res.file}.done`, '');
      else while (!fs.existsSync(`${res.file}.done`)) await new Promise((resolve) => setTimeout(resolve, 10));
      sock.close();
    },
  };
}

module.exports = { problem, setup, cleanup, endpoint };

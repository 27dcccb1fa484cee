// A Unix domain socket through `net`, as a Node.js user would frame messages on it: a
// 4-byte length before each, parsed back out of the byte stream by the receiving side.
'use strict';
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const fs = require('node:fs');
const { once } = require('node:events');

let counter = 0;

const problem = (kind) => (kind === 'idle' ? 'not measured idle' : null);
const setup = () => ({ file: path.join(os.tmpdir(), `podshm-bench-${process.pid}-${++counter}.sock`) });
const cleanup = (res) => fs.rmSync(res.file, { force: true });

/** Calls `onFrame(bytes, offset, length)` for each whole frame of a byte stream. */
function framer(onFrame, sock) {
  let bufs = [];
  let have = 0;
  return (chunk) => {
    bufs.push(chunk);
    have += chunk.length;
    while (have >= 4) {
      let head = bufs[0];
      if (head.length < 4) head = bufs[0] = Buffer.concat(bufs.splice(0));
      const len = head.readUInt32LE(0);
      if (have < 4 + len) return;
      if (head.length < 4 + len) {
        head = Buffer.concat(bufs);
        bufs = [head];
      }
      const r = onFrame(head, 4, len);
      if (head.length > 4 + len) bufs[0] = head.subarray(4 + len);
      else bufs.shift();
      have -= 4 + len;
      if (r && typeof r.then === 'function') {
        sock.pause();
        r.then(() => sock.resume());
      }
    }
  };
}

function socketEndpoint(first) {
  let handler = null;
  const socks = [];
  const attach = (sock) => {
    socks.push(sock);
    sock.on('data', framer((b, o, l) => handler(b, o, l), sock));
    sock.on('error', () => {});
  };
  if (first) attach(first);
  return {
    attach,
    socks,
    ep: {
      async: true,
      send(m) {
        const frame = Buffer.allocUnsafe(4 + m.length);
        frame.writeUInt32LE(m.length, 0);
        frame.set(m, 4);
        return socks[0].write(frame) ? undefined : once(socks[0], 'drain');
      },
      onMessage(h) {
        handler = h;
      },
      // end(), not destroy(): what is still buffered (a producer's last frames) goes out first.
      close: () => Promise.all(socks.map((s) => new Promise((resolve) => s.end(resolve)))),
    },
  };
}

async function endpoint({ side, res }) {
  if (side === 'a') {
    const sock = net.connect(res.file);
    await once(sock, 'connect');
    return socketEndpoint(sock).ep;
  }
  const { attach, socks, ep } = socketEndpoint(null);
  const server = net.createServer(attach);
  server.listen(res.file);
  await once(server, 'listening');
  ep.close = () => {
    server.close();
    for (const s of socks) s.destroy();
  };
  return ep;
}

module.exports = { problem, setup, cleanup, endpoint };

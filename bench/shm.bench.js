// Moving bulk data between two processes: 1 MiB frames, written by one process and
// checked word by word by the other. C through shared memory is the baseline; podshm's
// SharedMemory is the same design from Node.js; a Unix socket and child_process IPC are
// what a Node.js user would otherwise pick.
'use strict';
const { fork } = require('node:child_process');
const os = require('node:os');
const path = require('node:path');
const { SharedMemory } = require('..');

const FRAMES = Number(process.env.BENCH_FRAMES) || 2000;
const FRAME = 1 << 20;
const peer = path.join(__dirname, 'shm-peer.js');

function exited(child) {
  return new Promise((resolve, reject) =>
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${child.spawnargs.join(' ')} exited ${code}`)))),
  );
}

async function timed(start) {
  const t0 = process.hrtime.bigint();
  await start();
  return FRAMES / (Number(process.hrtime.bigint() - t0) / 1e9);
}

async function podshm() {
  const shm = SharedMemory.create(`/podshm-bench-frames-${process.pid}`, 128 + 8 * FRAME);
  try {
    return await timed(() => {
      const r = fork(peer, ['podshm', 'reader', shm.name, String(FRAMES)]);
      const w = fork(peer, ['podshm', 'writer', shm.name, String(FRAMES)]);
      return Promise.all([exited(r), exited(w)]);
    });
  } finally {
    shm.unlink();
  }
}

async function socket() {
  const sockPath = path.join(os.tmpdir(), `podshm-bench-${process.pid}.sock`);
  const r = fork(peer, ['socket', 'reader', sockPath, String(FRAMES)]);
  await new Promise((resolve) => r.once('message', resolve));
  return timed(() => Promise.all([exited(r), exited(fork(peer, ['socket', 'writer', sockPath, String(FRAMES)]))]));
}

async function ipc() {
  const r = fork(peer, ['ipc', 'reader', '-', String(FRAMES)], { serialization: 'advanced' });
  return timed(async () => {
    for (let seq = 0; seq < FRAMES; seq++) {
      const frame = Buffer.allocUnsafe(FRAME);
      new Uint32Array(frame.buffer, frame.byteOffset, FRAME / 4).fill(Math.imul(seq + 1, 0x9e3779b1) >>> 0);
      r.send({ frame });
      if (seq % 8 === 7) await new Promise((resolve) => r.once('message', resolve));
    }
    await exited(r);
  });
}

exports.run = async function run(suite) {
  const group = '1 MiB frames between two processes, every word checked (frames/s = MiB/s)';
  const c = Number(await suite.capture(suite.cProgram('shm_frames'), [String(FRAMES)]));
  suite.record(group, 'C, shared memory (fork, spin)', c, 'msg/s');
  suite.record(group, 'podshm SharedMemory (Atomics spin)', await podshm(), 'msg/s');
  suite.record(group, 'Node Unix socket (net)', await socket(), 'msg/s');
  suite.record(group, "child_process IPC (serialization: 'advanced')", await ipc(), 'msg/s');
};

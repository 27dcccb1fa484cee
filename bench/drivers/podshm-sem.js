// podshm's Semaphore as a two-process handoff: one semaphore each way, no payload (a
// round trip is release, the peer's acquire and release, acquire). Variant `loop`:
// 'sync' (acquire) or 'async' (acquire on the event loop).
'use strict';
const { SharedMemory, Semaphore } = require('podshm');
const { STOP, fail } = require('../lib/roles');

let counter = 0;
const STOP_WORD = 16; // Int32 index of the word that tells the peer the exchange is over

const problem = (kind) => (kind === 'rtt' ? null : 'a semaphore carries no messages: round trips only');

function setup() {
  const shm = SharedMemory.create(`/podshm-bench-sem-${process.pid}-${++counter}`, 4096);
  Semaphore.init(shm, 0, 0).close?.();
  Semaphore.init(shm, 8, 0).close?.();
  shm.close();
  return { name: shm.name };
}

const cleanup = (res) => SharedMemory.unlink(res.name);

function endpoint({ side, res, p, v }) {
  const shm = SharedMemory.open(res.name);
  const words = new Int32Array(shm.buffer);
  const ping = new Semaphore(shm, 0);
  const pong = new Semaphore(shm, 8);
  const [give, take] = side === 'a' ? [ping, pong] : [pong, ping];
  const msg = new Uint8Array(p.size);
  const empty = new Uint8Array(0);
  const got = () => (Atomics.load(words, STOP_WORD) ? empty : msg);
  const send = (m) => {
    if (m.length === 0) Atomics.store(words, STOP_WORD, 1);
    give.release();
  };
  const close = () => shm.close();
  if (v.loop === 'async') {
    return {
      async: true,
      noPayload: true,
      send,
      onMessage(h) {
        (async () => {
          for (;;) {
            await take.acquire();
            const m = got();
            if (h(m, 0, m.length) === STOP) return;
          }
        })().catch(fail);
      },
      close,
    };
  }
  return {
    noPayload: true,
    send,
    receive: () => (take.acquireSync(), got()),
    close,
  };
}

module.exports = { problem, setup, cleanup, endpoint };

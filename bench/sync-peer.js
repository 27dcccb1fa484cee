// The other process of the handoff benchmark in bench/sync.bench.js: waits on
// semaphore "ping", releases "pong", N times.
'use strict';
const { SharedMemory, Semaphore } = require('..');

async function main() {
  const [name, n, mode] = process.argv.slice(2);
  const shm = SharedMemory.open(name);
  const ping = new Semaphore(shm, 0);
  const pong = new Semaphore(shm, 8);
  process.stdout.write('ready\n');
  for (let i = 0; i < Number(n); i++) {
    if (mode === 'async') await ping.acquireAsync();
    else ping.acquire();
    pong.release();
  }
  shm.close();
}
main();

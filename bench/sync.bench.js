// Semaphores and mutexes: podshm beside C's process-shared sem_wait/sem_post, in one run.
'use strict';
const { spawn } = require('node:child_process');
const path = require('node:path');
const { SharedMemory, Semaphore, Mutex } = require('..');

const UNCONTENDED = 2_000_000;
const HANDOFF = 20_000;
const HANDOFF_ASYNC = 5_000;

function perOp(n, fn) {
  fn(Math.min(n, 10_000)); // warm up
  const t0 = process.hrtime.bigint();
  fn(n);
  return Number(process.hrtime.bigint() - t0) / n;
}

// `mode`: how this side acquires; `peerMode`: how the other process does.
async function handoff(name, n, mode, peerMode = mode) {
  const shm = SharedMemory.open(name);
  const ping = Semaphore.init(shm, 0, 0);
  const pong = Semaphore.init(shm, 8, 0);
  const peer = spawn(process.execPath, [path.join(__dirname, 'sync-peer.js'), name, String(n), peerMode], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    peer.stdout.once('data', resolve);
    peer.once('exit', (code) => reject(new Error(`sync-peer exited ${code}`)));
  });
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    ping.release();
    if (mode === 'async') await pong.acquireAsync();
    else pong.acquire();
  }
  const ns = Number(process.hrtime.bigint() - t0) / n;
  await new Promise((resolve) => (peer.exitCode !== null ? resolve() : peer.once('exit', resolve)));
  shm.close();
  return ns;
}

async function run(suite) {
  const c = suite.cProgram('sync_sem');
  const name = `/podshm-bench-sync-${process.pid}`;
  const shm = SharedMemory.create(name, 4096);
  try {
    const group = 'uncontended acquire + release';
    suite.record(group, 'C sem_wait + sem_post (pshared)', Number(await suite.capture(c, ['uncontended', String(UNCONTENDED)])), 'ns');
    const sem = Semaphore.init(shm, 64, 1);
    suite.record(group, 'podshm Semaphore acquire + release', perOp(UNCONTENDED, (n) => {
      for (let i = 0; i < n; i++) {
        sem.acquire();
        sem.release();
      }
    }), 'ns');
    const m = Mutex.init(shm, 128);
    suite.record(group, 'podshm Mutex lock + unlock', perOp(UNCONTENDED, (n) => {
      for (let i = 0; i < n; i++) {
        m.lock();
        m.unlock();
      }
    }), 'ns');
    m.close();

    const g2 = 'two-process handoff (round trip)';
    suite.record(g2, 'C sem_post/sem_wait ping-pong', Number(await suite.capture(c, ['handoff', String(HANDOFF)])), 'ns');
    suite.record(g2, 'podshm Semaphore release/acquire', await handoff(name, HANDOFF, 'sync'), 'ns');
    suite.record(g2, 'podshm Semaphore acquireAsync, peer blocking', await handoff(name, HANDOFF, 'async', 'sync'), 'ns');
    suite.record(g2, 'podshm Semaphore acquireAsync, both sides', await handoff(name, HANDOFF_ASYNC, 'async'), 'ns');
  } finally {
    shm.close();
    SharedMemory.unlink(name);
  }
}

module.exports = { run };

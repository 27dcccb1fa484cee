// Crash trials: a process running one primitive's operations in a loop is SIGKILLed at a
// random point (or stopped with SIGSTOP and continued), again and again, and what it
// leaves behind must still work: a mutex is recovered (owner-died reported when it died
// holding it), a semaphore is never corrupt, a channel or a topic loses, duplicates and
// reorders nothing that was sent. The counts are printed. PODSHM_CRASH_TRIALS sets the number of
// trials per primitive; PODSHM_FUZZ_SEED, the random points (printed).
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { Channel, Mutex, Semaphore, SharedMemory, Topic } from 'podshm';
import { fixture, isStopped, uniqueName, until } from '../helpers.mjs';

const TRIALS = Number(process.env.PODSHM_CRASH_TRIALS ?? 12);
let seed = process.env.PODSHM_FUZZ_SEED === undefined ? (Date.now() ^ (Math.random() * 2 ** 31)) >>> 0 : Number(process.env.PODSHM_FUZZ_SEED) >>> 0;
t.comment(`crash trials: ${TRIALS} per primitive, seed ${seed} (PODSHM_FUZZ_SEED=${seed} repeats the kill points)`);
/** A deterministic random number in [0, 1) from the seed (mulberry32). */
function random() {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let x = seed;
  x = Math.imul(x ^ (x >>> 15), x | 1);
  x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
  return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32;
}

function worker(t, args) {
  // A worker loops until it is killed: if this process dies first (an abort, tap's
  // timeout), the kernel kills it too (setpriv execs node in place: the same pid).
  const child = spawn('setpriv', ['--pdeathsig', 'KILL', process.execPath, fixture('crash-worker.mjs'), ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NODE_OPTIONS: '' } });
  t.teardown(() => child.kill('SIGKILL'));
  child.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
  child.ready = new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => (out += d).includes('ready') && resolve());
    child.exited.then((how) => reject(new Error(`worker ${args[0]} ended (${how}) before it was ready`)));
  });
  return child;
}

/** Lets the worker run for a random 0-30 ms of its loop, then kills it. */
async function killSomewhere(child) {
  await child.ready;
  await sleep(random() * 30);
  child.kill('SIGKILL');
  await child.exited;
}

/** Resolves once `pid` is in the stopped state (T); a hang guard only. */
const stopped = (pid) => until(() => isStopped(pid), `process ${pid} stopping`);

function segment(t, tag) {
  const name = uniqueName(tag);
  const shm = SharedMemory.create(name, 4096);
  t.teardown(() => {
    shm.close();
    SharedMemory.unlink(name);
  });
  return shm;
}

t.test('mutex holders killed anywhere: always recovered, owner death reported', async (t) => {
  const shm = segment(t, 'crash-mutex');
  const i32 = new Int32Array(shm.buffer);
  const m = Mutex.init(shm, 0);
  t.teardown(() => m.close());
  let died = 0;
  let broken = 0;
  for (let trial = 0; trial < TRIALS; trial++) {
    await killSomewhere(worker(t, ['mutex', shm.name]));
    // A hang guard only: a dead owner is recovered at the first owner check (200 ms).
    try {
      m.lockSync({ timeout: 30_000 });
    } catch (err) {
      if (err.code !== 'ETIMEDOUT') throw err;
      broken++;
      continue;
    }
    if (m.ownerDied) {
      died++;
      i32[16] = 0;
    } else if (i32[16] !== 0) {
      broken++; // half-updated state without an owner-died report
    }
    m.unlock();
  }
  t.comment(`mutex: ${TRIALS} holders SIGKILLed, ${died} while holding (recovered with ownerDied), ${broken} failures`);
  t.equal(broken, 0);
  t.ok(i32[17] > 0, `the workers made ${i32[17]} updates`);
});

t.test('mutex holders stopped and continued: never taken for dead', async (t) => {
  const shm = segment(t, 'crash-mutex-stop');
  const i32 = new Int32Array(shm.buffer);
  const m = Mutex.init(shm, 0);
  t.teardown(() => m.close());
  const child = worker(t, ['mutex', shm.name]);
  await child.ready;
  let stoppedHolding = 0;
  const trials = Math.ceil(TRIALS / 3);
  for (let trial = 0; trial < trials; trial++) {
    await sleep(random() * 10);
    child.kill('SIGSTOP');
    await stopped(child.pid); // it may or may not hold the mutex now
    if (m.tryLock()) {
      t.equal(i32[16], 0, 'a free mutex guards consistent state');
      m.unlock();
    } else {
      stoppedHolding++;
      // A stopped holder is alive: waiting must not take the mutex from it.
      t.throws(() => m.lockSync({ timeout: 250 }), { code: 'ETIMEDOUT' }, 'a stopped holder keeps the mutex');
    }
    child.kill('SIGCONT');
  }
  t.doesNotThrow(() => m.lockSync({ timeout: 30_000 }), 'taken once the holder runs again');
  t.equal(m.ownerDied, false);
  m.unlock();
  // The deterministic fault point: stopped while surely holding it.
  const holder = worker(t, ['mutex-stop', shm.name]);
  await holder.ready;
  await stopped(holder.pid);
  t.throws(() => m.lockSync({ timeout: 250 }), { code: 'ETIMEDOUT' }, 'a holder stopped while holding keeps the mutex');
  holder.kill('SIGCONT');
  t.doesNotThrow(() => m.lockSync({ timeout: 30_000 }), 'and hands it over once continued');
  t.equal(m.ownerDied, false, 'never taken for dead');
  m.unlock();
  t.same(await holder.exited, 0);
  t.comment(`mutex: ${trials} SIGSTOP/SIGCONT rounds at random points (${stoppedHolding} stopped while holding it), 1 at the fault point "holding"`);
});

t.test('semaphore users killed anywhere: never corrupt, at most the unit they held is lost', async (t) => {
  const shm = segment(t, 'crash-sem');
  const sem = Semaphore.init(shm, 0, 1);
  let lost = 0;
  for (let trial = 0; trial < TRIALS; trial++) {
    await killSomewhere(worker(t, ['sem', shm.name]));
    const v = sem.value; // throws CorruptionError on a corrupt value
    t.ok(v === 0 || v === 1, `value ${v}`);
    if (v === 0) {
      lost++;
      sem.release(); // a semaphore has no owner to recover: the caller's protocol must
    }
    t.doesNotThrow(() => sem.acquireSync({ timeout: 30_000 }));
    sem.release();
  }
  t.comment(`semaphore: ${TRIALS} users SIGKILLed, ${lost} while holding the unit (lost, as with sem_t)`);
});

/**
 * SIGKILLs TRIALS producers (`kind`: the worker's 'channel' or 'topic') each at a random
 * moment of its stream, reading with `reader` (a receiver or subscriber) meanwhile and
 * after each death: everything committed before dying is there, a reservation left behind
 * is skipped. Counts the messages received and those lost, duplicated, reordered or damaged.
 */
async function killProducers(t, kind, name, reader) {
  let total = 0;
  let bad = 0;
  for (let trial = 0; trial < TRIALS; trial++) {
    const child = worker(t, [kind, name, String(trial)]);
    let next = 0;
    const handle = (u8, offset, length) => {
      const w = new Uint32Array(u8.buffer.slice(u8.byteOffset + offset, u8.byteOffset + offset + length));
      if (length !== 12 || w[0] !== trial || w[1] !== next || w[2] !== ((next ^ 0x5a5a5a5a) >>> 0)) bad++;
      next = w[1] + 1;
    };
    await child.ready;
    const until = performance.now() + random() * 30;
    while (performance.now() < until) if (reader.drain(handle) === 0) await sleep(0);
    child.kill('SIGKILL');
    await child.exited;
    for (let m; (m = reader.tryReceive()) !== null; ) handle(m, 0, m.length);
    total += next;
  }
  return { total, bad };
}

t.test('channel producers killed anywhere: nothing sent is lost, duplicated or reordered', async (t) => {
  const name = uniqueName('crash-channel');
  const ch = Channel.create(name, { capacity: 16384, producers: 'multi' });
  t.teardown(() => {
    ch.close();
    Channel.unlink(name);
  });
  const rx = ch.receiver();
  const { total, bad } = await killProducers(t, 'channel', name, rx);
  t.comment(`channel: ${TRIALS} producers SIGKILLed mid-stream, ${total} messages received, ${bad} lost, duplicated, reordered or damaged`);
  t.equal(bad, 0);
  const tx = ch.sender();
  tx.sendSync(Uint8Array.of(1, 2, 3));
  t.same([...rx.receiveSync({ timeout: 10_000 })], [1, 2, 3], 'the channel still works');
  tx.close();
});

for (const publishers of ['multi', 'single']) {
  t.test(`topic publishers killed anywhere: nothing published is lost, duplicated or reordered (publishers '${publishers}')`, async (t) => {
    const name = uniqueName('crash-topic');
    const tp = Topic.create(name, { capacity: 16384, publishers });
    t.teardown(() => {
      tp.close();
      Topic.unlink(name);
    });
    const sub = tp.subscriber();
    const { total, bad } = await killProducers(t, 'topic', name, sub);
    t.comment(`topic (${publishers}): ${TRIALS} publishers SIGKILLed mid-stream, ${total} messages received, ${bad} lost, duplicated, reordered or damaged`);
    t.equal(bad, 0);
    const pub = tp.publisher();
    pub.publishSync(Uint8Array.of(1, 2, 3));
    t.same([...sub.receiveSync({ timeout: 10_000 })], [1, 2, 3], 'the topic still works');
    pub.close();
  });
}

import t from 'tap';
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { SharedMemory, Semaphore, Mutex, CorruptionError, FutexWord } from 'podshm';
import { fixture, node, rawBinding as _native, seededRandom, sleeping, startUntil, testSeed, uniqueName, until, watching, within } from '../helpers.mjs';

function segment(t, size = 4096, opts) {
  const shm = SharedMemory.create(uniqueName('sync'), size, opts);
  t.teardown(() => {
    shm.close();
    shm.unlink();
  });
  return shm;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A sync-peer child that reports a line before it is done; resolves once the line is seen.
const started = (t, args, line, command = process.execPath, pre = []) => startUntil(t, command, [...pre, fixture('sync-peer.mjs'), ...args], line);

t.test('mutex: 4 processes x 100k increments under the mutex lose no update', async (t) => {
  const shm = segment(t);
  Mutex.init(shm, 0).close();
  const n = 100_000;
  // Two block their thread, two wait asynchronously through the waiter thread.
  const runs = [0, 0, 1, 1].map((async) => node('sync-peer.mjs', ['mutex-count', shm.name, '0', '4', String(n), String(async)], { timeoutMs: 120_000 }));
  for (const r of await Promise.all(runs)) t.equal(r.code, 0, r.stderr);
  t.equal(new Int32Array(shm.buffer)[4], 4 * n);
  t.equal(new Int32Array(shm.buffer)[0], 0, 'the mutex is free at the end');
});

t.test('semaphore with value 2 admits at most 2 holders at once across 4 processes', async (t) => {
  const shm = segment(t);
  const sem = Semaphore.init(shm, 0, 2);
  const runs = [0, 0, 1, 1].map((async) => node('sync-peer.mjs', ['sem-occupancy', shm.name, '0', '4', '5', '20000', String(async)], { timeoutMs: 120_000 }));
  for (const r of await Promise.all(runs)) t.equal(r.code, 0, r.stderr);
  const i32 = new Int32Array(shm.buffer);
  t.ok(i32[5] <= 2, `highest occupancy seen: ${i32[5]}`);
  t.ok(i32[5] >= 1);
  t.equal(sem.value, 2, 'every unit came back');
  t.equal(i32[1], 0, 'no waiter is left counted');
});

t.test('semaphore: try, value, release, timeouts', async (t) => {
  const shm = segment(t);
  const sem = Semaphore.init(shm, 8, 1);
  const other = new Semaphore(shm, 8);
  t.equal(sem.value, 1);
  t.ok(other.tryAcquire());
  t.notOk(sem.tryAcquire());
  t.throws(() => sem.acquireSync({ timeout: 30 }), { code: 'ETIMEDOUT' }, 'blocking acquire times out');
  await t.rejects(sem.acquire({ timeout: 30 }), { code: 'ETIMEDOUT' }, 'async acquire times out');
  t.throws(() => sem.acquireSync({ timeout: 0 }), { code: 'ETIMEDOUT' });
  sem.release(3);
  t.equal(other.value, 3);
  t.doesNotThrow(() => sem.acquireSync({ timeout: 0 }));
  t.equal(sem.value, 2);
  t.equal(new Int32Array(shm.buffer)[3], 0, 'waiter count back to 0');
  t.throws(() => sem.release(0), { code: 'ERR_OUT_OF_RANGE' });
  sem.release(Semaphore.MAX - 2);
  t.throws(() => sem.release(1), { code: 'EOVERFLOW' });
});

t.test('a blocking acquire asleep in another process: served by a release, or woken onto a corrupt value, it is no longer counted as a waiter', async (t) => {
  const shm = segment(t);
  const sem = Semaphore.init(shm, 0, 0);
  const i32 = new Int32Array(shm.buffer);
  const asleep = async (what) => {
    let pid;
    const run = node('sync-peer.mjs', ['sem-acquire', shm.name, '0', '60000'], { onSpawn: (c) => (pid = c.pid) });
    await until(() => Atomics.load(i32, 1) === 1, `${what}: the other process counted as a waiter`);
    await until(() => sleeping(pid, 'futex', pid), `${what}: the other process asleep on the futex`);
    return { run }; // not the promise itself, which await would wait for
  };

  const served = await asleep('served');
  sem.release();
  const r = await served.run;
  t.equal(r.stdout.trim(), 'acquired', r.stderr);
  t.equal(sem.value, 0, 'it took the unit');
  t.equal(Atomics.load(i32, 1), 0, 'no waiter counted after it was served');

  const corrupt = await asleep('corrupt');
  Atomics.store(i32, 0, -5);
  new FutexWord(shm.mapping, 0).wake();
  const c = await corrupt.run;
  t.not(c.code, 0, 'the acquire failed');
  t.match(c.stderr, /ERR_PODSHM_CORRUPT/, 'with the corruption named');
  t.equal(Atomics.load(i32, 1), 0, 'no waiter counted after it failed');
});

t.test('semaphore: acquire is woken from another process while the event loop ticks', async (t) => {
  const shm = segment(t);
  const sem = Semaphore.init(shm, 0, 0);
  const waiting = sem.acquire({ timeout: 60_000 });
  // The releasing process is started by a timer callback: only a free event loop runs it.
  let ran = false;
  const peer = new Promise((resolve) => setTimeout(() => ((ran = true), resolve(node('sync-peer.mjs', ['sem-release-later', shm.name, '0', '0']))), 0));
  const r = await within(peer, 'the timer callback that starts the releasing process');
  t.ok(ran, 'a timer ran while acquire was pending');
  t.equal(r.stdout.trim(), 'released', r.stderr);
  t.equal(await waiting, undefined, 'acquired');
  t.equal(sem.value, 0);
  t.equal(_native.waiter.pending(), 0);
});

t.test('a pending acquire alone keeps a process alive until it is served', async (t) => {
  const shm = segment(t);
  const sem = Semaphore.init(shm, 0, 0);
  const i32 = new Int32Array(shm.buffer);
  const child = spawn(process.execPath, [fixture('sync-peer.mjs'), 'sem-acquire-async', shm.name, '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const closed = new Promise((r) => child.once('close', r));
  await until(() => Atomics.load(i32, 1) >= 1, 'the child counted as a waiter');
  // The child's unref'd timer fires only while something else holds its event loop.
  await until(() => out.includes('alive') || child.exitCode !== null, "the child's unref'd timer");
  t.equal(child.exitCode, null, 'still running with only the wait pending');
  t.equal(out, 'alive\n', 'its unref\'d timer ran: only the pending wait held the loop');
  sem.release();
  t.equal(await closed, 0);
  t.equal(out, 'alive\nacquired\n');
  t.equal(sem.value, 0);
});

t.test('1000 pending acquire calls cost no more threads, and all are served', async (t) => {
  const shm = segment(t);
  const sem = Semaphore.init(shm, 0, 0);
  await sem.acquire({ timeout: 1 }).catch(() => {}); // the waiter thread exists from here on
  const threads = () => readdirSync('/proc/self/task').length;
  const before = threads();
  const waits = Array.from({ length: 1000 }, () => sem.acquire({ timeout: 60_000 }));
  await sleep(50);
  t.equal(threads(), before, `${threads()} threads with 1000 acquire pending, ${before} before`);
  t.equal(new Int32Array(shm.buffer)[1], 1000, 'all counted as waiters');
  const r = await node('sync-peer.mjs', ['sem-release-later', shm.name, '0', '0']);
  t.equal(r.code, 0, r.stderr);
  sem.release(999);
  t.same(new Set(await Promise.all(waits)), new Set([undefined]), 'every acquire resolved');
  t.equal(sem.value, 0);
  t.equal(new Int32Array(shm.buffer)[1], 0);
});

t.test('AbortSignal ends acquire and lock and leaves no waiter behind', async (t) => {
  const shm = segment(t);
  const sem = Semaphore.init(shm, 0, 0);
  const ac = new AbortController();
  const p = sem.acquire({ signal: ac.signal });
  await sleep(20);
  t.equal(new Int32Array(shm.buffer)[1], 1, 'counted as a waiter while pending');
  ac.abort();
  await t.rejects(p, { name: 'AbortError', code: 'ABORT_ERR' });
  t.equal(new Int32Array(shm.buffer)[1], 0);
  // An already aborted signal: the same AbortError, its reason as the cause (not the
  // reason itself, which need not be an error at all).
  await t.rejects(sem.acquire({ signal: AbortSignal.abort('why') }), { name: 'AbortError', code: 'ABORT_ERR', cause: 'why' });

  const holder = Mutex.init(shm, 16);
  const waiter = new Mutex(shm, 16);
  t.teardown(() => (holder.close(), waiter.close()));
  t.doesNotThrow(() => holder.lockSync());
  const ac2 = new AbortController();
  const q = waiter.lock({ signal: ac2.signal });
  setTimeout(() => ac2.abort(), 30);
  await t.rejects(q, { code: 'ABORT_ERR' });
  t.notOk(waiter.held);
  await t.rejects(waiter.lock({ signal: AbortSignal.abort('why') }), { name: 'AbortError', code: 'ABORT_ERR', cause: 'why' });
  await t.rejects(waiter.lock({ timeout: 30 }), { code: 'ETIMEDOUT' }, 'lock times out');
  t.throws(() => waiter.lockSync({ timeout: 30 }), { code: 'ETIMEDOUT' }, 'lock times out');
  t.notOk(waiter.tryLock());
  holder.unlock();
  await t.resolves(waiter.lock({ timeout: 1000 }));
  t.notOk(waiter.ownerDied);
  waiter.unlock();
  t.equal(_native.waiter.pending(), 0);
});

t.test('a waiter that gives up passes on a wake it may have taken from another process', async (t) => {
  const shm = segment(t);
  const sem = Semaphore.init(shm, 0, 0);
  const i32 = new Int32Array(shm.buffer);
  const ac = new AbortController();
  // Queued first, so the kernel hands the next wake to this process's waiter thread.
  const mine = sem.acquire({ signal: ac.signal }).catch((e) => e.code);
  await until(() => watching(shm.path), "this process's waiter thread asleep on the word");
  let pid;
  const other = node('sync-peer.mjs', ['sem-acquire', shm.name, '0', '60000'], { onSpawn: (c) => (pid = c.pid) });
  await until(() => Atomics.load(i32, 1) >= 2, 'the other process counted as a waiter');
  await until(() => sleeping(pid, 'futex', pid), 'the other process asleep on the futex');
  sem.release();
  ac.abort(); // before the wake is delivered here
  t.equal(await mine, 'ABORT_ERR');
  const r = await other;
  t.equal(r.stdout.trim(), 'acquired', 'the other process was woken for the unit, not left to its timeout');
  t.equal(sem.value, 0);
});

t.test('close() under a pending lock rejects it with EBADF: a closed object never ends up holding', async (t) => {
  const shm = segment(t);
  const holder = Mutex.init(shm, 0);
  const waiter = new Mutex(shm, 0);
  const third = new Mutex(shm, 0);
  t.teardown(() => (holder.close(), third.close()));
  t.doesNotThrow(() => holder.lockSync());
  const pending = waiter.lock();
  await until(() => watching(shm.path), 'the waiter thread asleep on the mutex');
  waiter.close();
  holder.unlock();
  await t.rejects(pending, { code: 'EBADF' });
  t.notOk(waiter.held);
  t.ok(third.tryLock(), 'the mutex is free for a live owner');
  t.notOk(third.ownerDied, 'and nobody took it for a dead one');
});

t.test('an aborted lock that was handed the wake leaves WAITERS on a mutex taken meanwhile', async (t) => {
  const shm = segment(t);
  const i32 = new Int32Array(shm.buffer);
  const holder = Mutex.init(shm, 0);
  const waiter = new Mutex(shm, 0);
  const thief = new Mutex(shm, 0);
  t.teardown(() => (holder.close(), waiter.close(), thief.close()));
  t.doesNotThrow(() => holder.lockSync());
  const ac = new AbortController();
  const pending = waiter.lock({ signal: ac.signal });
  await until(() => watching(shm.path), 'the waiter thread asleep on the mutex');
  // All in one turn of the event loop: the unlock's wake goes to this process's
  // waiter thread for `waiter`, the thief takes the free mutex by the fast path (no
  // WAITERS), and the abort ends the wait before the wake is delivered.
  holder.unlock();
  t.ok(thief.tryLock());
  ac.abort();
  await t.rejects(pending, { code: 'ABORT_ERR' });
  t.ok(i32[0] & (1 << 30), "WAITERS is set, so the thief's unlock wakes whoever else sleeps");
});

t.test('close() gives its descriptors back even when unlock() finds the word corrupt', async (t) => {
  const shm = segment(t);
  const fds = () => readdirSync('/proc/self/fd').length;
  const before = fds();
  const m = Mutex.init(shm, 0);
  t.doesNotThrow(() => m.lockSync());
  t.ok(fds() > before, 'a Mutex holds descriptors');
  new Int32Array(shm.buffer)[0] = -5;
  t.throws(() => m.close(), CorruptionError);
  t.equal(fds(), before, 'none left open');
  t.throws(() => m.lockSync(), { code: 'EBADF' }, 'and it is closed');
});

t.test('a Mutex on memory whose name was unlinked and reused is refused, not two owners', async (t) => {
  const name = uniqueName('mtxrenamed');
  const a = SharedMemory.create(name, 4096);
  const first = Mutex.init(a, 0);
  t.doesNotThrow(() => first.lockSync());
  SharedMemory.unlink(name);
  const b = SharedMemory.create(name, 4096); // another object under the name
  t.teardown(() => (first.close(), a.close(), b.close(), b.unlink()));
  // Its owner lock would be looked for in the other file, and the live owner taken for dead.
  t.throws(() => new Mutex(a, 0), { code: 'ENOENT', message: /unlinked/ });
  t.ok(first.held, 'the first owner still holds it');
});

t.test('mutex: misuse is an error, not a hang', async (t) => {
  const shm = segment(t);
  const m = Mutex.init(shm, 0);
  t.throws(() => m.unlock(), { code: 'EPERM' });
  t.ok(m.tryLock());
  t.throws(() => m.lockSync(), { code: 'EDEADLK' });
  t.throws(() => m.tryLock(), { code: 'EDEADLK' });
  const other = new Mutex(shm, 0);
  t.throws(() => other.unlock(), { code: 'EPERM' });
  other.close();
  m.close(); // unlocks what it holds
  t.equal(new Int32Array(shm.buffer)[0], 0);
  t.throws(() => m.lockSync(), { code: 'EBADF' });
  m.close();
});

t.test('a SIGKILLed holder is recovered by a blocked waiter, with the owner-died report', async (t) => {
  const shm = segment(t);
  Mutex.init(shm, 0).close();
  const child = await started(t, ['mutex-hold', shm.name, '0', '2'], 'locked');
  const m = new Mutex(shm, 0);
  t.teardown(() => m.close());
  t.notOk(m.tryLock(), 'held by the live child');
  t.notOk(m.ownerDied);
  // lock() blocks this thread, so another process does the killing.
  spawn('sh', ['-c', `sleep 0.1; kill -9 ${child.pid}`], { stdio: 'ignore' });
  const t0 = performance.now();
  // No timeout: only the waiter's own look at the owner's liveness can end this wait
  // (a regression hangs here until tap's timeout fails the file).
  t.doesNotThrow(() => m.lockSync(), 'lock() acquires after the holder dies');
  t.comment(`recovered ${Math.round(performance.now() - t0 - 100)} ms after the kill`);
  t.ok(m.ownerDied, 'and reports that the owner died');
  t.equal(new Int32Array(shm.buffer)[2], -1, 'the half-updated state is there to repair');
  new Int32Array(shm.buffer)[2] = 0;
  m.unlock();
  t.notOk(m.ownerDied);
  t.ok(m.tryLock(), 'the mutex is healthy again');
  t.notOk(m.ownerDied);
  m.unlock();
});

t.test('a SIGKILLed holder is recovered by lock and by tryLock', async (t) => {
  const shm = segment(t);
  Mutex.init(shm, 0).close();
  const child = await started(t, ['mutex-hold', shm.name, '0', '2'], 'locked');
  const m = new Mutex(shm, 0);
  t.teardown(() => m.close());
  const p = m.lock({ timeout: 60_000 });
  await until(() => watching(shm.path), 'the waiter thread asleep on the held mutex');
  child.kill('SIGKILL');
  t.equal(await p, undefined, 'taken');
  t.ok(m.ownerDied);
  m.unlock();

  const again = await started(t, ['mutex-hold', shm.name, '0', '2'], 'locked');
  again.kill('SIGKILL');
  await new Promise((r) => again.once('exit', r));
  t.ok(m.tryLock(), 'tryLock takes over from a dead owner');
  t.ok(m.ownerDied);
  m.unlock();
});

t.test('garbage in shared memory is reported, never a hang', async (t) => {
  const shm = segment(t);
  const i32 = new Int32Array(shm.buffer);
  const sem = Semaphore.init(shm, 0, 1);
  i32[0] = -5;
  t.throws(() => sem.tryAcquire(), CorruptionError);
  t.throws(() => sem.acquireSync({ timeout: 1000 }), { code: 'ERR_PODSHM_CORRUPT', offset: 0, value: -5 });
  await t.rejects(sem.acquire(), CorruptionError);
  t.throws(() => sem.value, CorruptionError);
  t.throws(() => sem.release(), CorruptionError);
  t.throws(() => new Semaphore(shm, 0), CorruptionError);
  i32[0] = 0;
  i32[1] = -3;
  t.throws(() => sem.release(), CorruptionError);

  const m = Mutex.init(shm, 8);
  t.teardown(() => m.close());
  i32[2] = -1;
  t.throws(() => m.lockSync({ timeout: 1000 }), CorruptionError);
  // An owner token that no live process holds is a dead owner: taken over.
  i32[2] = 12345;
  t.doesNotThrow(() => m.lockSync({ timeout: 1000 }));
  t.ok(m.ownerDied);
  m.unlock();
});

t.test('offsets and arguments are validated', async (t) => {
  const shm = segment(t, 64);
  t.throws(() => Semaphore.init(shm, 2, 1), { code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => Semaphore.init(shm, 60, 1), { code: 'ERR_OUT_OF_RANGE' }, 'needs 8 bytes');
  t.throws(() => Semaphore.init(shm, 0, -1), { code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => Semaphore.init(shm, 0, 2 ** 31), { code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => new Semaphore(shm, '0'), { code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => Mutex.init(shm, 64), { code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => Mutex.init(shm, 6), { code: 'ERR_OUT_OF_RANGE' });
  // The memory, not its mapping, and nothing else: a clear TypeError, not a crash inside.
  for (const memory of [shm.mapping, {}, null, 5]) {
    t.throws(() => Semaphore.init(memory, 0, 1), { code: 'ERR_INVALID_ARG_TYPE', message: /SharedMemory/ });
    t.throws(() => new Semaphore(memory, 0), { code: 'ERR_INVALID_ARG_TYPE' });
    t.throws(() => Mutex.init(memory, 0), { code: 'ERR_INVALID_ARG_TYPE' });
  }
  // A mutex's owners are checked through locks on its file: memory without a path will not do.
  t.throws(() => Mutex.init({ mapping: shm.mapping }, 0), { code: 'ERR_INVALID_ARG_TYPE', message: /file/ });
  const sem = Semaphore.init(shm, 0, 0);
  t.throws(() => sem.acquireSync({ timeout: -1 }), { code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => sem.acquireSync({ timeout: '1' }), { code: 'ERR_INVALID_ARG_TYPE' });
  await t.rejects(sem.acquire({ signal: 'x' }), { code: 'ERR_INVALID_ARG_TYPE' });
  shm.close();
  t.throws(() => sem.release(), { code: 'EBADF' });
  t.throws(() => Semaphore.init(shm, 0, 1), { code: 'EBADF' });
});

t.test('named semaphores: create, open from another process, versioned header', async (t) => {
  const name = uniqueName('named');
  const sem = Semaphore.create(name, { initial: 1 });
  t.teardown(() => {
    sem.close();
    try {
      Semaphore.unlink(name);
    } catch {}
  });
  t.equal(sem.value, 1);
  const same = Semaphore.create(name, { initial: 9, exclusive: false });
  t.equal(same.value, 1, 'an existing semaphore keeps its value');
  same.close();
  t.throws(() => Semaphore.create(name, { exclusive: true }), { code: 'EEXIST' });
  let r = await node('sync-peer.mjs', ['named-acquire', name, '5000']);
  t.equal(r.stdout.trim(), 'acquired', r.stderr);
  t.equal(sem.value, 0);
  r = await node('sync-peer.mjs', ['named-acquire', name, '50']);
  t.equal(r.stdout.trim(), 'timeout', r.stderr);
  t.throws(() => Semaphore.open(uniqueName('missing')), { code: 'ENOENT' });

  const plain = SharedMemory.create(uniqueName('notsem'), 64);
  t.teardown(() => (plain.close(), plain.unlink()));
  new Uint32Array(plain.buffer)[0] = 0x12345678;
  t.throws(() => Semaphore.open(plain.name), { code: 'EINVAL', message: /not a podshm semaphore/ });
  new Uint32Array(plain.buffer)[0] = 0x53485350;
  new Uint32Array(plain.buffer)[1] = 99;
  t.throws(() => Semaphore.open(plain.name), { code: 'EINVAL', message: /version 99/ });
  sem.unlink();
  t.throws(() => Semaphore.open(name), { code: 'ENOENT' });
});

t.test('named mutexes: create, contend from another process, wrong kinds refused', async (t) => {
  const name = uniqueName('nmutex');
  const m = Mutex.create(name);
  t.teardown(() => {
    m.close();
    try {
      Mutex.unlink(name);
    } catch {}
  });
  t.doesNotThrow(() => m.lockSync());
  const child = await started(t, ['named-mutex', name, '60000'], 'busy');
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const done = new Promise((r) => child.once('close', r));
  await until(() => sleeping(child.pid, 'futex', child.pid), 'the other process asleep on the mutex');
  m.unlock();
  t.equal(await done, 0);
  t.match(out, /locked clean/, 'the other process got it after unlock, from a live owner');
  t.throws(() => Mutex.create(name, { exclusive: true }), { code: 'EEXIST' });

  const semName = uniqueName('nsem');
  const sem = Semaphore.create(semName);
  t.teardown(() => (sem.close(), Semaphore.unlink(semName)));
  t.throws(() => Mutex.open(semName), { code: 'EINVAL', message: /not a podshm mutex/ });
  t.throws(() => Semaphore.open(name), { code: 'EINVAL', message: /not a podshm semaphore/ });
  t.throws(() => sem.release(-1), { code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => Semaphore.create(semName, { initial: -1 }), { code: 'ERR_OUT_OF_RANGE' });
  const plain = Semaphore.init(segment(t, 64), 0, 0);
  t.throws(() => plain.unlink(), { code: 'EINVAL' });
  m.unlink();
  t.throws(() => Mutex.open(name), { code: 'ENOENT' });
});

t.test('fuzz: any value a peer writes into the words gives a result or an error, never a hang', async (t) => {
  const shm = segment(t);
  const i32 = new Int32Array(shm.buffer);
  const sem = Semaphore.init(shm, 0, 0);
  const m = Mutex.init(shm, 8);
  t.teardown(() => m.close());
  const special = [0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 1 << 30, (1 << 30) - 1, (1 << 30) | 1];
  const seed = testSeed();
  t.comment(`seed ${seed} (PODSHM_TEST_SEED=${seed} replays this run)`);
  const random = seededRandom(seed);
  let outcomes = 0;
  for (let i = 0; i < 3000; i++) {
    const pick = () => (i < special.length ** 2 ? special[i % special.length] : (random() * 2 ** 32) | 0);
    i32[0] = pick();
    i32[1] = i < special.length ** 2 ? special[Math.floor(i / special.length) % special.length] : pick();
    i32[2] = pick();
    for (const op of [() => sem.tryAcquire(), () => sem.acquireSync({ timeout: 0 }), () => sem.release(), () => sem.value, () => m.tryLock(), () => m.lockSync({ timeout: 0 })]) {
      try {
        op();
      } catch (err) {
        if (!(err instanceof CorruptionError) && err.code !== 'EOVERFLOW' && err.code !== 'ETIMEDOUT') throw err;
      }
      outcomes++;
      if (m.held) m.unlock();
    }
  }
  t.equal(outcomes, 3000 * 6, 'every operation returned or threw a clean error');
  t.equal(_native.waiter.pending(), 0);
});

const root = process.getuid?.() === 0;
let canUnshare = false;
try {
  execFileSync('unshare', ['--pid', '--fork', '--mount', '--mount-proc', 'true'], { stdio: 'ignore' });
  canUnshare = true;
} catch {}

t.test('mutex and semaphore across separate PID and mount namespaces sharing a tmpfs', { skip: !root ? 'needs root' : !canUnshare ? 'unshare --pid --mount is not available' : false }, async (t) => {
  // Like two containers of a pod: each has its own PID and mount namespace and sees
  // one shared tmpfs directory mounted at /dev/shm.
  const shared = `/dev/shm/${uniqueName('ns').slice(1)}`;
  mkdirSync(shared);
  t.teardown(() => rmSync(shared, { recursive: true, force: true }));
  const name = uniqueName('nsobj');
  const shm = SharedMemory.create(name, 4096, { dir: shared });
  t.teardown(() => shm.close());
  Mutex.init(shm, 0).close();
  Semaphore.init(shm, 8, 1);
  const n = 20_000;
  const script = `mount --make-rprivate / && mount --bind ${shared} /dev/shm && exec "$0" "$@"`;
  const podChild = (mode, args) => {
    const child = spawn('unshare', ['--pid', '--fork', '--kill-child', '--mount', '--mount-proc', 'sh', '-c', script, process.execPath, fixture('sync-peer.mjs'), mode, name, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    t.teardown(() => child.kill('SIGKILL'));
    return child;
  };
  const inPod = (mode, args) =>
    new Promise((resolve) => {
      const child = podChild(mode, args);
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('close', (code) => (clearTimeout(timer), resolve({ code, out, err })));
    });
  const runs = await Promise.all([
    inPod('mutex-count', ['0', '4', String(n), '0']),
    inPod('mutex-count', ['0', '4', String(n), '1']),
    inPod('sem-occupancy', ['8', '5', '6', '2000', '0']),
    inPod('sem-occupancy', ['8', '5', '6', '2000', '1']),
  ]);
  for (const r of runs) t.equal(r.code, 0, r.err);
  const i32 = new Int32Array(shm.buffer);
  t.equal(i32[4], 2 * n, 'no lost update between the namespaces');
  t.equal(i32[6], 1, 'the semaphore of value 1 admitted one holder at a time');
  t.equal(i32[2], 1);

  // A holder SIGKILLed in one namespace is recovered from another.
  Mutex.init(shm, 64).close();
  const holder = podChild('mutex-hold', ['64', '17']);
  await new Promise((resolve) => holder.stdout.on('data', (d) => String(d).includes('locked') && resolve()));
  holder.kill('SIGKILL'); // unshare --kill-child takes the node process inside down with it
  const r = await inPod('mutex-recover', ['64', '10000']);
  t.equal(r.out.trim(), 'locked owner-died', r.err);
  t.equal(i32[17], -1, 'the dead holder had half updated the state');
});

// A user who may only read a segment (mode 0644) can still take shared locks on any byte
// of its file, where participants keep their liveness locks. Such a reader must not make
// a dead Mutex owner look alive, nor make attaching a new owner spin.
import { spawn } from 'node:child_process';
import t from 'tap';
import { Mutex, SharedMemory } from 'podshm';
import { fixture, startUntil, uniqueName } from '../helpers.mjs';

const NOBODY = ['--reuid=65534', '--regid=65534', '--clear-groups', 'env', '-u', 'NODE_OPTIONS'];

function segment(t) {
  const name = uniqueName('reader-dos');
  const shm = SharedMemory.create(name, 4096, { mode: 0o644 });
  t.teardown(() => {
    shm.close();
    SharedMemory.unlink(name);
  });
  return shm;
}

/** Starts the reader as another user; resolves once it holds its shared locks. */
function reader(t, args) {
  const child = spawn('setpriv', [...NOBODY, process.execPath, fixture('lock-reader.mjs'), ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.teardown(() => child.kill('SIGKILL'));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) (out.trim() === 'locked' ? resolve(child) : reject(new Error(`reader: ${out}`)));
    });
    child.once('exit', (code) => reject(new Error(`reader exited (${code}) before locking: ${out}`)));
  });
}

t.test("a reader's shared lock on a dead owner's byte does not keep it alive", async (t) => {
  if (process.getuid() !== 0) return t.skip('a reader as another user needs root (setpriv)');
  const shm = segment(t);
  const m = Mutex.init(shm, 0);
  t.teardown(() => m.close());
  const holder = await startUntil(t, process.execPath, [fixture('sync-peer.mjs'), 'mutex-hold', shm.name, '0', '1'], 'locked');
  const gone = new Promise((resolve) => holder.once('exit', resolve));
  holder.kill('SIGKILL');
  await gone;
  await reader(t, ['owner', shm.path, '0']);
  // A hang guard only: the owner is dead, so the first owner check (200 ms) recovers it.
  t.doesNotThrow(() => m.lockSync({ timeout: 20_000 }), 'the dead owner is recovered');
  t.equal(m.ownerDied, true, 'and reported as dead');
  m.unlock();
});

t.test("a reader's shared locks over every owner slot make new Mutex() fail at once, never spin", async (t) => {
  if (process.getuid() !== 0) return t.skip('a reader as another user needs root (setpriv)');
  const shm = segment(t);
  Mutex.init(shm, 0).close();
  await reader(t, ['range', shm.path]);
  t.throws(() => new Mutex(shm, 0), { code: 'EAGAIN', message: /shared locks/ });
});

import t from 'tap';
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { SharedMemory } from 'podshm';
import { internal } from '../internal.mjs';
import { fixture, uniqueName, until } from '../helpers.mjs';

const { Presence, LivenessProbe, liveSlots, isAlive, LIVENESS_REGIONS } = internal('liveness/presence');
const { liveParticipants, removeIfAbandoned } = internal('admin/participants');

const BASE = LIVENESS_REGIONS.channel;

function segment(t) {
  const shm = SharedMemory.create(uniqueName('liveness'), 4096);
  t.teardown(() => {
    shm.close();
    shm.unlink();
  });
  return shm;
}

// Starts a claiming child (optionally through a wrapper command) and resolves with
// the child and the slot it reports.
function claimer(t, shm, slots, wrapper = []) {
  const args = [...wrapper, process.execPath, fixture('futex-peer.mjs'), 'claim', shm.name, String(BASE), String(slots)];
  const child = spawn(args[0], args.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => child.kill('SIGKILL'));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /slot (\d+)/.exec(out);
      if (m) resolve({ child, slot: Number(m[1]) });
    });
    child.on('exit', (code) => reject(new Error(`claimer exited ${code}`)));
  });
}

const exited = (child) => new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', r)));

t.test('a claim is seen by others while its process lives, and freed when it is SIGKILLed', async (t) => {
  const shm = segment(t);
  const { child, slot } = await claimer(t, shm, 4);
  t.equal(slot, 0);
  t.same(liveSlots(shm.path, { base: BASE, slots: 4 }), [0]);
  t.ok(isAlive(shm.path, BASE + 0));
  const mine = Presence.claim(shm.path, { base: BASE, slots: 4 });
  t.equal(mine.slot, 1, 'the next claim skips the live slot');
  t.same(liveSlots(shm.path, { base: BASE, slots: 4 }), [0, 1], 'a probe sees this process too');
  child.kill('SIGKILL');
  await exited(child);
  t.same(liveSlots(shm.path, { base: BASE, slots: 4 }), [1], 'the kernel dropped the dead process lock');
  t.notOk(isAlive(shm.path, BASE));
  mine.release();
  mine.release();
  t.same(liveSlots(shm.path, { base: BASE, slots: 4 }), []);
});

t.test('claims in one process are distinct participants; a full range is EAGAIN', async (t) => {
  const shm = segment(t);
  const range = { base: BASE, slots: 3 };
  const claims = [Presence.claim(shm.path, range), Presence.claim(shm.path, range), Presence.claim(shm.path, range)];
  t.same(claims.map((c) => c.slot), [0, 1, 2]);
  t.throws(() => Presence.claim(shm.path, range), { code: 'EAGAIN' });
  claims[1][Symbol.dispose]();
  const again = Presence.claim(shm.path, range);
  t.equal(again.slot, 1, 'a released slot is reused');
  again.release();
  const probe = new LivenessProbe(shm.path);
  t.same(probe.liveSlots(range), [0, 2]);
  t.same(probe.liveSlots({ base: BASE + 1, slots: 1 }), [], 'ranges are respected');
  claims.forEach((c) => c.release());
  t.same(probe.liveSlots(range), []);
  probe.close();
  t.throws(() => probe.isAlive(BASE), { code: 'EBADF' });
});

t.test('every participant is counted, whatever order their locks were taken in', async (t) => {
  const shm = segment(t);
  // F_OFD_GETLK reports the first conflicting lock on the kernel's list, here the higher one.
  const high = Presence.claim(shm.path, { base: BASE + 1000, slots: 1 });
  const low = Presence.claim(shm.path, { base: BASE, slots: 1 });
  t.teardown(() => (high.release(), low.release()));
  t.equal(liveParticipants(shm.path), 2);
  t.same(liveSlots(shm.path, { base: BASE, slots: 2000 }), [0, 1000]);
});

t.test('gc judges the file it listed: one made under the name since is left alone', async (t) => {
  const first = SharedMemory.create(uniqueName('gcrace'), 4096);
  const listed = statSync(first.path);
  first.close();
  first.unlink();
  // An application makes a new object under the name between gc's listing and its removal.
  const second = SharedMemory.create(first.name, 4096);
  t.teardown(() => (second.close(), second.unlink()));
  t.equal(removeIfAbandoned(second.path, false, listed), 'gone', 'not the file that was listed');
  t.ok(existsSync(second.path), 'the new object stays');
  t.equal(removeIfAbandoned(second.path, true), 'abandoned', 'a dry run only looks');
  t.ok(existsSync(second.path));
});

t.test('random claims in a large range, and bad arguments', async (t) => {
  const shm = segment(t);
  const range = { base: LIVENESS_REGIONS.mutexOwner, slots: 2 ** 30, random: true };
  const a = Presence.claim(shm.path, range);
  const b = Presence.claim(shm.path, range);
  t.teardown(() => (a.release(), b.release()));
  t.not(a.slot, b.slot);
  t.same(liveSlots(shm.path, range), [a.slot, b.slot].sort((x, y) => x - y));
  t.throws(() => Presence.claim(shm.path, { base: -1, slots: 1 }), { code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => Presence.claim(shm.path, { base: 2 ** 53, slots: 1 }), { code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => Presence.claim(shm.path, { base: 0, slots: 0 }), { code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => Presence.claim(shm.path), { code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => Presence.claim('/nonexistent/podshm', { base: 0, slots: 1 }), { code: 'ENOENT' });
});

const root = process.getuid?.() === 0;
let canUnshare = false;
try {
  execFileSync('unshare', ['--pid', '--fork', '--mount-proc', 'true'], { stdio: 'ignore' });
  canUnshare = true;
} catch {}

t.test('liveness crosses PID namespaces', { skip: !root ? 'needs root' : !canUnshare ? 'unshare --pid is not available' : false }, async (t) => {
  const shm = segment(t);
  const { child, slot } = await claimer(t, shm, 4, ['unshare', '--pid', '--fork', '--kill-child', '--mount-proc']);
  t.equal(slot, 0);
  t.same(liveSlots(shm.path, { base: BASE, slots: 4 }), [0], 'the claim made in another PID namespace is seen');
  child.kill('SIGKILL'); // --kill-child takes the process inside down too
  await exited(child);
  // The process inside dies on its own time (its parent-death signal): wait for the lock to go.
  await until(() => liveSlots(shm.path, { base: BASE, slots: 4 }).length === 0, 'the slot released after the death in the other PID namespace');
  t.same(liveSlots(shm.path, { base: BASE, slots: 4 }), [], 'and released when that process dies');
});

// The `dir` option of Channel, Semaphore and Mutex, the way a pod uses it: a Memory
// emptyDir mounted at /mnt (not /dev/shm, which stays each container's own) in every
// container. Objects made with { dir: '/mnt' } in one container are the same objects in
// the others, nothing lands in anyone's /dev/shm, and `ls --dir` / `gc --dir` judge them
// by their participants, alive or SIGKILLed.
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { fixture, uniqueName, within } from '../helpers.mjs';
import { MiB, podSupport, startPod } from '../pod.mjs';

const MOUNT = '/mnt';
const why = podSupport() ?? (fs.statSync(MOUNT, { throwIfNoEntry: false })?.isDirectory() ? null : `no ${MOUNT} directory to mount the emptyDir on`);
const cli = fileURLToPath(new URL('../../dist/cjs/cli/main.js', import.meta.url));
// Scripts run with `node -e` resolve 'podshm' from here (the package itself).
const cwd = fileURLToPath(new URL('../..', import.meta.url));

// Starts `node args` in `container`; resolves with it once it has printed 'ready'.
async function started(container, args) {
  const child = container.spawn(process.execPath, args, { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  await within(new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => ((out += d), out.includes('ready\n') && resolve()));
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}: ${err}`)));
  }), `${args.join(' ')} getting ready`);
  return { child, out: () => out };
}

const RECEIVER = `
  const { Channel } = require('podshm');
  const [name, dir, n] = process.argv.slice(1);
  const ch = Channel.open(name, { dir });
  const rx = ch.receiver();
  console.log('ready');
  let sum = 0;
  for (let i = 0; i < Number(n); i++) sum += rx.receiveSync({ timeout: 60_000 }).reduce((a, b) => a + b, 0);
  console.log('sum ' + sum);
  process.stdin.resume();`;
const SENDER = `
  const { Channel } = require('podshm');
  const [name, dir, n] = process.argv.slice(1);
  const ch = Channel.open(name, { dir });
  const tx = ch.sender();
  for (let i = 0; i < Number(n); i++) tx.sendSync(Uint8Array.of(i & 255, 1));
  console.log('ready');
  process.stdin.resume();`;
const TRY = `
  const { Mutex, Semaphore } = require('podshm');
  const [mutexName, semName, dir] = process.argv.slice(1);
  const m = Mutex.open(mutexName, { dir });
  const got = m.tryLock();
  const sem = Semaphore.open(semName, { dir });
  console.log(JSON.stringify({ locked: got, ownerDied: m.ownerDied, semaphore: sem.tryAcquire(), value: sem.value }));
  if (got) m.unlock();`;

t.test('Channel, Semaphore and Mutex with dir on an emptyDir at /mnt, across containers; ls and gc --dir', { skip: why ?? false }, async (t) => {
  const pod = await startPod({ emptyDir: 64 * MiB, mountPath: MOUNT });
  t.teardown(() => pod.close());
  const [a, b, c] = [await pod.container('a'), await pod.container('b'), await pod.container('c')];
  const [chan, mutex, sem] = ['dir-chan', 'dir-mutex', 'dir-sem'].map(uniqueName);
  for (const [role, name] of [['create-channel', chan], ['create-mutex', mutex], ['create-semaphore', sem]]) {
    const r = await a.node([fixture('gc-participant.mjs'), role, name, MOUNT]);
    t.equal(r.code, 0, `${role} in a: ${r.stderr}`);
  }

  // 200 messages from b to a through the channel in the emptyDir.
  const n = 200;
  const receiver = await started(a, ['-e', RECEIVER, chan, MOUNT, String(n)]);
  const sender = await started(b, ['-e', SENDER, chan, MOUNT, String(n)]);
  const want = Array.from({ length: n }, (_, i) => (i & 255) + 1).reduce((x, y) => x + y, 0);
  await within(new Promise((resolve) => {
    const check = () => receiver.out().includes('sum ') && resolve();
    receiver.child.stdout.on('data', check);
    check();
  }), "a's receiver getting every message");
  t.match(receiver.out(), `sum ${want}\n`, 'a received what b sent');

  // The mutex held in b, the semaphore's unit taken in c: seen from c, then from a.
  const holder = await started(b, [fixture('gc-participant.mjs'), 'holder', mutex, MOUNT]);
  const fromC = JSON.parse((await c.node(['-e', TRY, mutex, sem, MOUNT], { cwd })).stdout);
  t.same(fromC, { locked: false, ownerDied: false, semaphore: true, value: 0 }, "c finds b's lock held, and takes the semaphore's one unit");
  const fromA = JSON.parse((await a.node(['-e', TRY, mutex, sem, MOUNT], { cwd })).stdout);
  t.same(fromA, { locked: false, ownerDied: false, semaphore: false, value: 0 }, 'a finds the lock held and no unit left');

  for (const container of [a, b, c]) {
    const own = (await container.run('ls', ['-A', '/dev/shm'])).stdout.split('\n').filter(Boolean);
    t.same(own.filter((f) => [chan, mutex, sem].some((n) => f.startsWith(n.slice(1)))), [], `nothing in ${container.name}'s own /dev/shm`);
  }
  const ls = async () => {
    const r = await c.node([cli, 'ls', '--json', '--dir', MOUNT]);
    t.equal(r.code, 0, r.stderr);
    return Object.fromEntries(JSON.parse(r.stdout).posix.objects.map((o) => [o.name, [o.kind, o.live]]));
  };
  t.same(await ls(), { [chan]: ['channel', 2], [mutex]: ['mutex', 1], [sem]: ['semaphore', null] }, 'ls --dir in c: the receiver in a, the sender and the holder in b');

  // b dies: its sender and its mutex holder with it.
  for (const child of [sender.child, holder.child]) {
    process.kill(-child.pid, 'SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
  }
  t.same(await ls(), { [chan]: ['channel', 1], [mutex]: ['mutex', 0], [sem]: ['semaphore', null] }, "b's participants no longer count");
  const afterDeath = JSON.parse((await c.node(['-e', TRY, mutex, sem, MOUNT], { cwd })).stdout);
  t.match(afterDeath, { locked: true, ownerDied: true }, "c recovers the mutex from b's dead holder");

  const gc = async () => {
    const r = await c.node([cli, 'gc', '--json', '--min-age', '0', '--dir', MOUNT]);
    t.equal(r.stderr, '');
    t.equal(r.code, 0);
    return Object.fromEntries(JSON.parse(r.stdout).objects.map((o) => [o.name, [o.action, o.reason]]));
  };
  t.same(await gc(), { [chan]: ['kept', 'live'], [mutex]: ['kept', 'unregistered'], [sem]: ['kept', 'unregistered'] }, 'gc --dir keeps the channel a still reads');
  process.kill(-receiver.child.pid, 'SIGKILL');
  await new Promise((resolve) => receiver.child.once('exit', resolve));
  t.same(await gc(), { [chan]: ['removed', null], [mutex]: ['kept', 'unregistered'], [sem]: ['kept', 'unregistered'] }, 'and removes it once its last participant was SIGKILLed');
  t.same((await a.run('ls', ['-A', MOUNT])).stdout.split('\n').filter(Boolean).sort(), [mutex, sem].map((n) => n.slice(1)).sort(), 'the channel and its bell are gone from the emptyDir');
});

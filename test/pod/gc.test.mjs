// gc and rm across containers: a participant's liveness lock is seen from another
// container sharing the emptyDir; gc removes what a SIGKILLed participant left, never
// what a live one uses, and nothing that is not a podshm object.
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { fixture, uniqueName, within } from '../helpers.mjs';
import { ask, MiB, podSupport, startPod } from '../pod.mjs';

const why = podSupport();
const cli = fileURLToPath(new URL('../../dist/cjs/cli/main.js', import.meta.url));
// Starts a real participant (fixtures/gc-participant.mjs) in `container`; resolves with
// it once it takes part.
async function participant(container, role, name) {
  const child = container.spawn(process.execPath, [fixture('gc-participant.mjs'), role, name], { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  await within(new Promise((resolve, reject) => {
    child.stdout.once('data', (d) => (String(d) === 'ready\n' ? resolve() : reject(new Error(String(d)))));
    child.once('exit', (code) => reject(new Error(`${role} of ${name} exited with ${code}: ${err}`)));
  }), `${role} of ${name} taking part`);
  return child;
}

// Makes a real object in `container` (nobody takes part in it afterwards).
async function make(t, container, role, name) {
  const r = await container.node([fixture('gc-participant.mjs'), role, name]);
  t.equal(r.code, 0, `${role} ${name}: ${r.stderr}`);
}

const gc = async (t, c, ...args) => {
  const r = await c.node([cli, 'gc', '--json', ...args]);
  t.equal(r.stderr, '');
  return { code: r.code, byName: Object.fromEntries(JSON.parse(r.stdout).objects.map((o) => [o.name, o])) };
};

t.test('gc removes what dead participants left, never what a live one uses', { skip: why ?? false }, async (t) => {
  const pod = await startPod({ emptyDir: 64 * MiB });
  t.teardown(() => pod.close());
  const [a, b, c] = [await pod.container('a'), await pod.container('b'), await pod.container('c')];
  const agent = a.fork(fixture('pod-agent.mjs'));
  const [live, dead, plain, unused, mutex, sem] = ['gc-live', 'gc-dead', 'gc-plain', 'gc-unused', 'gc-mutex', 'gc-sem'].map(uniqueName);
  for (const name of [live, dead, unused]) await make(t, a, 'create-channel', name);
  await make(t, b, 'create-mutex', mutex);
  await make(t, b, 'create-semaphore', sem);
  t.match(await ask(agent, { op: 'create', name: plain, size: 4096 }), { ok: true });

  // Live: a receiver in a, a sender in b. Dead: a sender and a receiver in b, and the
  // mutex's holder, all SIGKILLed below.
  const alive = await participant(a, 'receiver', live);
  const aliveSender = await participant(b, 'sender', live);
  const doomed = [await participant(b, 'sender', dead), await participant(b, 'receiver', dead), await participant(b, 'holder', mutex)];
  const ls = JSON.parse((await c.node([cli, 'ls', '--json'])).stdout);
  const liveOf = Object.fromEntries(ls.posix.objects.map((o) => [o.name, o.live]));
  t.same(liveOf, { [live]: 2, [dead]: 2, [unused]: 0, [plain]: null, [mutex]: 1, [sem]: null }, 'ls in a third container sees each live participant');

  for (const child of doomed) {
    process.kill(-child.pid, 'SIGKILL');
    await new Promise((r) => child.once('exit', r));
  }

  const young = await gc(t, c, '--min-age', '3600');
  t.equal(young.code, 0);
  t.match(young.byName[dead], { action: 'kept', reason: 'new' }, 'objects younger than --min-age are left to their creators');

  const dry = await gc(t, c, '--dry-run', '--min-age', '0');
  t.match(dry.byName, {
    [live]: { action: 'kept', reason: 'live', kind: 'channel' },
    [dead]: { action: 'would-remove' },
    [unused]: { action: 'would-remove' },
    [mutex]: { action: 'kept', reason: 'unregistered', kind: 'mutex' },
    [sem]: { action: 'kept', reason: 'unregistered', kind: 'semaphore' },
  });
  t.notOk(plain in dry.byName, 'plain objects are not podshm objects: never touched');
  const files = async (container) => (await container.run('ls', ['/dev/shm'])).stdout.split('\n').filter(Boolean).sort();
  const channelFiles = (names) => names.flatMap((n) => [n.slice(1), `${n.slice(1)}.bell`]);
  t.same(await files(c), [...channelFiles([live, dead, unused]), ...[plain, mutex, sem].map((n) => n.slice(1))].sort(), '--dry-run removed nothing');

  const real = await gc(t, c, '--min-age', '0');
  t.equal(real.code, 0);
  t.match(real.byName, { [live]: { action: 'kept', reason: 'live' }, [dead]: { action: 'removed' }, [unused]: { action: 'removed' } });
  t.same(await files(a), [...channelFiles([live]), ...[plain, mutex, sem].map((n) => n.slice(1))].sort(), 'the dead channels went with their bells');

  const refused = await b.node([cli, 'rm', live]);
  t.equal(refused.code, 1);
  t.match(refused.stderr, /^podshm rm: EBUSY: in use by 2 live participants \(--force removes it anyway\), unlink '\/podshm-test-gc-live/);
  t.match(await ask(agent, { op: 'open', name: live }), { ok: true }, 'rm left it in place');

  for (const child of [alive, aliveSender]) {
    child.stdin.end();
    await new Promise((r) => child.once('exit', r));
  }
  const after = await gc(t, c, '--min-age', '0');
  t.match(after.byName, { [live]: { action: 'removed' } }, 'once its participants have left, it goes too');

  const text = await c.node([cli, 'gc', '--min-age', '0'], { env: { COLUMNS: '200' } });
  t.equal(text.code, 0);
  t.match(text.stdout, /^kept \/podshm-test-gc-mutex\S+ \(mutex, \d+ B\): a mutex does not record who has it open\nkept \/podshm-test-gc-sem\S+ \(semaphore, \d+ B\): a semaphore does not record who has it open\ngc: removed 0 of 2 podshm objects in \/dev\/shm \(0 B\), kept 2\n$/);
});

t.test('rm --force removes an object in use', { skip: why ?? false }, async (t) => {
  const pod = await startPod({ emptyDir: 16 * MiB });
  t.teardown(() => pod.close());
  const a = await pod.container('a');
  const agent = a.fork(fixture('pod-agent.mjs'));
  const name = uniqueName('rm-force');
  await make(t, a, 'create-channel', name);
  await participant(a, 'receiver', name);
  const r = await a.node([cli, 'rm', '--force', name]);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, `removed ${name}\n`);
  t.match(await ask(agent, { op: 'open', name }), { ok: false, error: { code: 'ENOENT' } });
});

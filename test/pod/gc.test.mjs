// gc and rm across containers: a participant's liveness lock is seen from another
// container sharing the emptyDir; gc removes what a SIGKILLed participant left, never
// what a live one uses, and nothing that is not a podshm object.
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { fixture, uniqueName } from '../helpers.mjs';
import { ask, MiB, podSupport, startPod } from '../pod.mjs';

const why = podSupport();
const cli = fileURLToPath(new URL('../../dist/cjs/cli/main.js', import.meta.url));
const CHANNEL_MAGIC = 0x43485350;
const MUTEX_MAGIC = 0x4d485350;

// Starts a participant in `container` and resolves once it holds its slot.
async function participant(container, name) {
  const child = container.spawn(process.execPath, [fixture('gc-participant.mjs'), `/dev/shm${name}`], { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  await new Promise((resolve, reject) => {
    child.stdout.once('data', (d) => (String(d).startsWith('slot ') ? resolve() : reject(new Error(String(d)))));
    child.once('exit', (code) => reject(new Error(`participant exited with ${code}: ${err}`)));
  });
  return child;
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
  const [live, dead, plain, unused] = ['gc-live', 'gc-dead', 'gc-plain', 'gc-unused'].map(uniqueName);
  for (const name of [live, dead, unused]) {
    t.match(await ask(agent, { op: 'create', name, size: 1 * MiB }), { ok: true });
    t.match(await ask(agent, { op: 'writeU32', name, offset: 0, value: CHANNEL_MAGIC }), { ok: true });
  }
  t.match(await ask(agent, { op: 'create', name: plain, size: 4096 }), { ok: true });
  const mutex = uniqueName('gc-mutex');
  t.match(await ask(agent, { op: 'create', name: mutex, size: 4096 }), { ok: true });
  t.match(await ask(agent, { op: 'writeU32', name: mutex, offset: 0, value: MUTEX_MAGIC }), { ok: true });

  const alive = await participant(a, live);
  const doomed = await participant(b, dead);
  const ls = JSON.parse((await c.node([cli, 'ls', '--json'])).stdout);
  const liveOf = Object.fromEntries(ls.posix.objects.map((o) => [o.name, o.live]));
  t.same(liveOf, { [live]: 1, [dead]: 1, [unused]: 0, [plain]: null, [mutex]: 0 }, 'ls in a third container sees each live participant');

  process.kill(-doomed.pid, 'SIGKILL');
  await new Promise((r) => doomed.once('exit', r));

  const young = await gc(t, c);
  t.equal(young.code, 0);
  t.match(young.byName[dead], { action: 'kept', reason: 'new' }, 'objects younger than --min-age are left to their creators');

  const dry = await gc(t, c, '--dry-run', '--min-age', '0');
  t.match(dry.byName, {
    [live]: { action: 'kept', reason: 'live', kind: 'channel' },
    [dead]: { action: 'would-remove' },
    [unused]: { action: 'would-remove' },
    [mutex]: { action: 'kept', reason: 'unregistered', kind: 'mutex' },
  });
  t.notOk(plain in dry.byName, 'plain objects are not podshm objects: never touched');
  t.equal((await c.run('ls', ['/dev/shm'])).stdout.split('\n').filter(Boolean).length, 5, '--dry-run removed nothing');

  const real = await gc(t, c, '--min-age', '0');
  t.equal(real.code, 0);
  t.match(real.byName, { [live]: { action: 'kept', reason: 'live' }, [dead]: { action: 'removed' }, [unused]: { action: 'removed' } });
  t.same((await a.run('ls', ['/dev/shm'])).stdout.split('\n').filter(Boolean).sort(), [live, plain, mutex].map((n) => n.slice(1)).sort());

  const refused = await b.node([cli, 'rm', live]);
  t.equal(refused.code, 1);
  t.match(refused.stderr, /^podshm rm: EBUSY: in use by 1 live participant \(--force removes it anyway\), unlink '\/podshm-test-gc-live/);
  t.match(await ask(agent, { op: 'open', name: live }), { ok: true }, 'rm left it in place');

  alive.stdin.end();
  await new Promise((r) => alive.once('exit', r));
  const after = await gc(t, c, '--min-age', '0');
  t.match(after.byName, { [live]: { action: 'removed' } }, 'once its participant has left, it goes too');

  const text = await c.node([cli, 'gc', '--min-age', '0'], { env: { COLUMNS: '200' } });
  t.equal(text.code, 0);
  t.match(text.stdout, /^kept \/podshm-test-gc-mutex\S+ \(mutex, 4 KiB\): a mutex does not record who has it open\ngc: removed 0 of 1 podshm object in \/dev\/shm \(0 B\), kept 1\n$/);
});

t.test('rm --force removes an object in use', { skip: why ?? false }, async (t) => {
  const pod = await startPod({ emptyDir: 16 * MiB });
  t.teardown(() => pod.close());
  const a = await pod.container('a');
  const agent = a.fork(fixture('pod-agent.mjs'));
  const name = uniqueName('rm-force');
  t.match(await ask(agent, { op: 'create', name, size: 4096 }), { ok: true });
  t.match(await ask(agent, { op: 'writeU32', name, offset: 0, value: CHANNEL_MAGIC }), { ok: true });
  await participant(a, name);
  const r = await a.node([cli, 'rm', '--force', name]);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, `removed ${name}\n`);
  t.match(await ask(agent, { op: 'open', name }), { ok: false, error: { code: 'ENOENT' } });
});

// `podshm ls` inside a simulated pod: POSIX objects of the container's own /dev/shm with
// their podshm kind, the pod's System V segments and message queues with their depth.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { fixture, uniqueName } from '../helpers.mjs';
import { ask, MiB, podSupport, startPod } from '../pod.mjs';

const why = podSupport();
const cli = fileURLToPath(new URL('../../dist/cjs/cli/main.js', import.meta.url));
const CHANNEL_MAGIC = 0x43485350;

function compileMqsend(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podshm-mqsend-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const exe = path.join(dir, 'mqsend');
  const r = spawnSync('cc', ['-O1', '-o', exe, fixture('pod-mqsend.c'), '-lrt'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cc failed: ${r.stderr || r.error?.message}`);
  return exe;
}

t.test('ls in a container: its objects and kinds, the pod-wide segments and queues', { skip: why ?? false }, async (t) => {
  const mqsend = compileMqsend(t);
  const pod = await startPod();
  t.teardown(() => pod.close());
  const a = await pod.container('a');
  const b = await pod.container('b');
  const agent = a.fork(fixture('pod-agent.mjs'));

  const plain = uniqueName('ls-plain');
  const channel = uniqueName('ls-chan');
  t.match(await ask(agent, { op: 'create', name: plain, size: 3 * MiB }), { ok: true });
  t.match(await ask(agent, { op: 'create', name: channel, size: 65536 }), { ok: true });
  t.match(await ask(agent, { op: 'writeU32', name: channel, offset: 0, value: CHANNEL_MAGIC }), { ok: true });
  const mk = await a.run('ipcmk', ['-M', '131072']);
  const segment = Number(/(\d+)/.exec(mk.stdout)?.[1]);
  const queue = uniqueName('ls-q');
  const sent = await a.run(mqsend, [queue, 'twelve bytes']);
  t.equal(sent.code, 0, sent.stderr);

  const inA = await a.node([cli, 'ls', '--json']);
  t.equal(inA.code, 0, inA.stderr);
  const la = JSON.parse(inA.stdout);
  t.equal(la.schemaVersion, 1);
  t.match(la.posix, { dir: '/dev/shm', error: null });
  t.match(la.posix.objects, [
    { name: channel, size: 65536, kind: 'channel', mode: '0600', owner: 'root', uid: 0 },
    { name: plain, size: 3 * MiB, allocated: 3 * MiB, kind: 'plain', mode: '0600' },
  ].sort((x, y) => (x.name < y.name ? -1 : 1)));
  t.equal(la.posix.objects.length, 2, 'nothing else in the container');
  t.match(la.sysv.segments, [{ id: segment, size: 131072, attached: 0, mode: '0644' }]);
  t.match(la.mqueue, { source: 'private-mount', error: null, queues: [{ name: queue, queuedBytes: 12, mode: '0600', owner: 'root' }] });

  const inB = JSON.parse((await b.node([cli, 'ls', '--json'])).stdout);
  t.same(inB.posix.objects, [], "the other container's /dev/shm is its own");
  t.match(inB.sysv.segments, [{ id: segment, size: 131072 }], 'the segment is pod-wide');
  t.match(inB.mqueue.queues, [{ name: queue, queuedBytes: 12 }], 'and so is the queue, with its depth');

  const text = await a.node([cli, 'ls'], { env: { COLUMNS: '60' } });
  t.equal(text.code, 0);
  t.ok(text.stdout.split('\n').every((l) => l.length <= 60), `fits 60 columns:\n${text.stdout}`);
  t.match(text.stdout, /POSIX shared memory in \/dev\/shm: 2\n/);
  t.match(text.stdout, /…\s+3 MiB\s+root\s+0600\s+plain/, 'long names are shortened, not the numbers');
  t.match(text.stdout, /System V shared memory: 1\n/);
  t.match(text.stdout, /POSIX message queues: 1\n/);
});

t.test('ls without unshare: /dev/mqueue as the runtime mounts it, or a clear reason', { skip: why ?? false }, async (t) => {
  const mqsend = compileMqsend(t);
  const pod = await startPod();
  t.teardown(() => pod.close());
  const a = await pod.container('a');
  const queue = uniqueName('ls-devmq');
  t.equal((await a.run(mqsend, [queue, 'abc'])).code, 0);
  // Like an unprivileged container: no unshare on PATH. With the runtime's /dev/mqueue
  // (a fresh /dev here, in this command's mount namespace only):
  const node = process.execPath;
  const withDevMqueue = await a.run('unshare', ['--mount', '--propagation', 'private', 'sh', '-c',
    `mount -t tmpfs podshm-dev /dev && mkdir /dev/mqueue /dev/shm && mount -t mqueue podshm-mq /dev/mqueue && PATH=/nonexistent exec "${node}" "${cli}" ls --json`]);
  t.equal(withDevMqueue.code, 0, withDevMqueue.stderr);
  t.match(JSON.parse(withDevMqueue.stdout).mqueue, { source: '/dev/mqueue', error: null, queues: [{ name: queue, queuedBytes: 3 }] });
  // Without it:
  const noView = (args) => a.run('unshare', ['--mount', '--propagation', 'private', 'sh', '-c',
    `umount /dev/mqueue 2>/dev/null; PATH=/nonexistent exec "${node}" "${cli}" ${args}`]);
  const without = await noView('ls --json');
  t.equal(without.code, 0, without.stderr);
  t.match(JSON.parse(without.stdout).mqueue, { source: null, queues: [], error: /^no mqueue view: \/dev\/mqueue is not mounted and a private mount failed \(.*ENOENT/ });
  const text = await noView('ls');
  t.match(text.stdout, /POSIX message queues: no mqueue view: /);
});

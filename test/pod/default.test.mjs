// Scenario 1, a default pod: each container has the runtime's own 64 MiB /dev/shm, so a
// POSIX shm object made in one is not there in the other; System V segments and POSIX
// message queues live in the pod's IPC namespace and are shared.
import t from 'tap';
import { fixture, uniqueName } from '../helpers.mjs';
import { ask, podSupport, startPod } from '../pod.mjs';

const why = podSupport();

// A fresh mqueue filesystem view of the caller's IPC namespace, as `podshm ls` makes one.
const mqList = 'unshare --mount --propagation private sh -c "mount -t mqueue podshm-view /mnt && ls -1 /mnt"';

t.test('default pod: POSIX shm is per container, SysV shm and message queues are pod-wide', { skip: why ?? false }, async (t) => {
  const pod = await startPod();
  t.teardown(() => pod.close());
  const [a, b] = [await pod.container('a'), await pod.container('b')];

  const name = uniqueName('pod1');
  const agentA = a.fork(fixture('pod-agent.mjs'));
  const agentB = b.fork(fixture('pod-agent.mjs'));
  t.match(await ask(agentA, { op: 'create', name, size: 1 << 20, fill: 7 }), { ok: true, size: 1 << 20 });
  t.match(await ask(agentA, { op: 'open', name }), { ok: true }, 'the object is there in its own container');
  t.match(await ask(agentB, { op: 'open', name }), { ok: false, error: { code: 'ENOENT', syscall: 'open' } }, 'and not in the other one');

  const mk = await a.run('ipcmk', ['-M', '65536']);
  t.equal(mk.code, 0, mk.stderr);
  const id = Number(/(\d+)/.exec(mk.stdout)?.[1]);
  t.ok(Number.isInteger(id), `ipcmk printed a segment id: ${mk.stdout.trim()}`);
  const seen = (text) => text.split('\n').slice(1).some((l) => Number(l.trim().split(/\s+/)[1]) === id && l.trim().split(/\s+/)[3] === '65536');
  t.ok(seen((await b.run('cat', ['/proc/sysvipc/shm'])).stdout), 'the other container sees the SysV segment');
  const other = await startPod();
  t.teardown(() => other.close());
  const stranger = await other.container('x');
  t.notOk(seen((await stranger.run('cat', ['/proc/sysvipc/shm'])).stdout), 'a container of another pod does not');

  const queue = uniqueName('pod1q').slice(1);
  const mq = await a.run('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', `mount -t mqueue podshm-view /mnt && touch /mnt/${queue}`]);
  t.equal(mq.code, 0, mq.stderr);
  t.ok((await b.run('sh', ['-c', mqList])).stdout.split('\n').includes(queue), 'the other container sees the message queue');
  t.notOk((await stranger.run('sh', ['-c', mqList])).stdout.split('\n').includes(queue), 'another pod does not');
});

// Scenario 2: a Memory emptyDir mounted at /dev/shm in both containers: POSIX shm
// objects are shared, each side sees what the other wrote, and the pod's tmpfs (not the
// runtime's 64 MiB) bounds them.
import t from 'tap';
import { fixture, uniqueName } from '../helpers.mjs';
import { ask, MiB, podSupport, startPod } from '../pod.mjs';

const why = podSupport();

t.test('Memory emptyDir: POSIX shm is shared between containers', { skip: why ?? false }, async (t) => {
  const pod = await startPod({ emptyDir: 256 * MiB });
  t.teardown(() => pod.close());
  const a = await pod.container('a');
  const b = await pod.container('b');
  const agentA = a.fork(fixture('pod-agent.mjs'));
  const agentB = b.fork(fixture('pod-agent.mjs'));

  // Larger than the runtime default could ever hold: only the emptyDir makes this work.
  const name = uniqueName('pod2');
  const size = 96 * MiB;
  t.match(await ask(agentA, { op: 'create', name, size, fill: 0x5a }), { ok: true, size });
  t.match(await ask(agentB, { op: 'open', name }), { ok: true, size }, 'the other container opens it');
  t.match(await ask(agentB, { op: 'check', name, value: 0x5a }), { ok: true, same: true }, 'and reads what the first wrote');
  t.match(await ask(agentB, { op: 'fill', name, value: 0xa5 }), { ok: true });
  t.match(await ask(agentA, { op: 'check', name, value: 0xa5 }), { ok: true, same: true }, 'and the first sees its answer');

  const df = await b.run('df', ['-B1', '--output=size,used', '/dev/shm']);
  const [size2, used] = df.stdout.trim().split('\n')[1].trim().split(/\s+/).map(Number);
  t.equal(size2, 256 * MiB, 'both containers mount the one 256 MiB tmpfs');
  t.ok(used >= size, `the object's pages are reserved in it (${used} bytes used)`);

  t.match(await ask(agentB, { op: 'unlink', name }), { ok: true });
  t.match(await ask(agentA, { op: 'open', name }), { ok: false, error: { code: 'ENOENT' } }, 'unlink in one removes it for both');
});

// Scenario 3: asking for more than the container's tmpfs holds is a CapacityError with
// the numbers, and both containers live on (no SIGBUS, nothing half-made left behind).
import t from 'tap';
import { fixture, uniqueName } from '../helpers.mjs';
import { ask, MiB, podSupport, RUNTIME_SHM, startPod } from '../pod.mjs';

const why = podSupport();

t.test('the runtime default 64 MiB /dev/shm: a larger object is refused, the container lives', { skip: why ?? false }, async (t) => {
  const pod = await startPod();
  t.teardown(() => pod.close());
  const a = await pod.container('a');
  const b = await pod.container('b');
  const agentA = a.fork(fixture('pod-agent.mjs'));
  const agentB = b.fork(fixture('pod-agent.mjs'));

  const name = uniqueName('pod3');
  const r = await ask(agentA, { op: 'create', name, size: 80 * MiB });
  t.match(r, {
    ok: false,
    error: { name: 'CapacityError', code: 'ENOSPC', requested: 80 * MiB, measured: { path: '/dev/shm', shmSize: RUNTIME_SHM, shmFree: RUNTIME_SHM } },
  });
  t.match(r.error.message, /64 MiB free of 64 MiB, the container runtime's 64 MiB default/);
  t.match(r.error.message, /medium: Memory/, 'the error carries the emptyDir fix');
  t.ok(r.error.suggestedSizeLimit >= 80 * MiB, 'and a sizeLimit that would hold the request');
  t.equal((await a.run('ls', ['-A', '/dev/shm'])).stdout, '', 'nothing was left behind');
  t.match(await ask(agentA, { op: 'ping' }), { ok: true }, 'the container that asked lives');
  t.match(await ask(agentB, { op: 'create', name, size: 60 * MiB, fill: 1 }), { ok: true }, 'the other still has its own 64 MiB');
  t.match(await ask(agentA, { op: 'create', name, size: 60 * MiB, fill: 2 }), { ok: true }, 'and so has the first');
});

t.test('a shared emptyDir: the second writer is refused, the first keeps its data', { skip: why ?? false }, async (t) => {
  const pod = await startPod({ emptyDir: 64 * MiB });
  t.teardown(() => pod.close());
  const a = await pod.container('a');
  const b = await pod.container('b');
  const agentA = a.fork(fixture('pod-agent.mjs'));
  const agentB = b.fork(fixture('pod-agent.mjs'));

  const first = uniqueName('pod3a');
  const second = uniqueName('pod3b');
  t.match(await ask(agentA, { op: 'create', name: first, size: 40 * MiB, fill: 9 }), { ok: true });
  const r = await ask(agentB, { op: 'create', name: second, size: 40 * MiB });
  t.match(r, { ok: false, error: { name: 'CapacityError', requested: 40 * MiB, measured: { shmSize: 64 * MiB } } });
  t.ok(r.error.measured.shmFree <= 24 * MiB, `free space is what A left: ${r.error.measured.shmFree}`);
  t.match(await ask(agentB, { op: 'ping' }), { ok: true }, 'the refused container lives');
  t.match(await ask(agentA, { op: 'check', name: first, value: 9 }), { ok: true, same: true }, "the first container's object is intact");
  t.match(await ask(agentB, { op: 'open', name: first }), { ok: true }, 'and still shared');
  t.same((await b.run('ls', ['-A', '/dev/shm'])).stdout.trim().split('\n'), [first.slice(1)], 'no half-made object');
});

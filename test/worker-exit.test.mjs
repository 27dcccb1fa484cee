// A Worker blocked in a podshm wait must not keep terminate() or process.exit() from
// finishing: a system call cannot be interrupted by V8, so the addon waits in slices.
import t from 'tap';
import { node } from './helpers.mjs';

for (const kind of ['semaphore', 'mq']) {
  t.test(`${kind}: terminate() ends a Worker blocked for ever`, async (t) => {
    const r = await node('worker-blocked.cjs', [kind, 'terminate'], { timeoutMs: 20_000 });
    t.equal(r.signal, null, 'not killed by the test timeout');
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stdout.trim(), 'terminated');
  });
  t.test(`${kind}: process.exit() with such a Worker ends the process`, async (t) => {
    const r = await node('worker-blocked.cjs', [kind, 'exit'], { timeoutMs: 20_000 });
    t.equal(r.signal, null, 'not killed by the test timeout');
    t.equal(r.code, 0, r.stderr);
  });
}

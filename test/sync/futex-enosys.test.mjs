// Where futex_waitv is missing (Linux < 5.16): asynchronous futex waits reject with
// SystemError ENOSYS (docs/futex.md), blocking waits still work, and a channel consumer
// on the event loop still works through its bell. The kernel here has futex_waitv; a
// small launcher compiled now takes it away with a seccomp filter that answers ENOSYS.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { fixture, run, uniqueName } from '../helpers.mjs';

const dir = mkdtempSync(join(tmpdir(), 'podshm-enosys-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const launcher = join(dir, 'no-futex-waitv');
const cc = spawnSync('cc', ['-O2', '-o', launcher, fixture('no-futex-waitv.c')], { encoding: 'utf8' });

const SCRIPT = `
  const { Channel, FutexWord, Semaphore, SharedMemory } = require('podshm');
  const [shmName, chName] = process.argv.slice(1);
  const outcome = (p) => p.then((v) => ({ value: v }), (e) => ({ name: e.name, code: e.code, syscall: e.syscall, message: e.message }));
  (async () => {
    const shm = SharedMemory.create(shmName, 4096);
    const ch = Channel.create(chName, { capacity: 4096, wait: 'block' });
    const rx = ch.receiver();
    const tx = ch.sender();
    const out = {
      futexAsync: await outcome(new FutexWord(shm.mapping, 0).wait(0, { timeout: 30_000 })),
      semaphoreAsync: await outcome(Semaphore.init(shm, 8, 0).acquire({ timeout: 30_000 })),
      futexSync: await outcome((async () => new FutexWord(shm.mapping, 0).waitSync(0, { timeout: 1 }))()),
    };
    const got = rx.receive({ timeout: 30_000 });
    setTimeout(() => tx.sendSync(Uint8Array.of(7)), 0);
    out.channelAsync = [...(await got)];
    ch.close(); ch.unlink(); shm.close(); shm.unlink();
    console.log(JSON.stringify(out));
  })();`;

t.test('without futex_waitv: async futex waits reject with ENOSYS, the rest works', { skip: cc.status !== 0 && `cannot compile the seccomp launcher: ${cc.stderr || cc.error?.message}` }, async (t) => {
  const r = await run(launcher, [process.execPath, '-e', SCRIPT, uniqueName('enosys'), uniqueName('enosys-ch')]);
  t.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  const enosys = { name: 'SystemError', code: 'ENOSYS', syscall: 'futex_waitv', message: /Linux 5\.16 or later/ };
  t.match(out.futexAsync, enosys, 'FutexWord.wait: ENOSYS at once, not a hang until its timeout');
  t.match(out.semaphoreAsync, enosys, 'Semaphore.acquire: the same');
  t.match(out.futexSync, { code: 'ETIMEDOUT', syscall: 'futex' }, 'a blocking wait (futex) still works: it runs to its timeout');
  t.same(out.channelAsync, [7], 'a channel consumer on the event loop still works through its bell');
});

t.test('the launcher does take futex_waitv away (so the test above proves something)', { skip: cc.status !== 0 && 'no launcher' }, async (t) => {
  // The same async wait without the launcher times out normally.
  const script = `const { FutexWord, SharedMemory } = require('podshm');
    const shm = SharedMemory.create(process.argv[1], 4096);
    new FutexWord(shm.mapping, 0).wait(0, { timeout: 1 }).catch((e) => (console.log(e.code), shm.close(), shm.unlink()));`;
  const plain = await run(process.execPath, ['-e', script, uniqueName('enosys-plain')]);
  t.equal(plain.stdout.trim(), 'ETIMEDOUT', plain.stderr);
});

// A test of the tests: the assertions that once depended on the machine's speed (issue
// 25), and the tests of waiting, timeouts and peers written since, still pass when every
// Node process of the run stalls its event loop for 300 ms out of every second
// (fixtures/stall.mjs, loaded through NODE_OPTIONS), as a loaded CI machine does on its
// own. Each named test runs in its file, selected with TAP_GREP; a file without names
// runs whole.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { fixture, run } from '../helpers.mjs';

const STALL = '300/1000';
const testDir = fileURLToPath(new URL('..', import.meta.url));
// Paths below test/; a file that moved fails here by name.
function testFile(path) {
  const file = join(testDir, path);
  if (!existsSync(file)) throw new Error(`no test file ${path} under ${testDir}`);
  return file;
}
const stallEnv = { NODE_OPTIONS: `--import=${fixture('stall.mjs')}`, PODSHM_TEST_STALL: STALL };

t.test('the injector stalls the event loop as asked', async (t) => {
  const script = `let last = Date.now(), worst = 0;
    const timer = setInterval(() => { const now = Date.now(); worst = Math.max(worst, now - last); last = now; }, 1);
    setTimeout(() => { clearInterval(timer); console.log(worst); }, 1500);`;
  const r = await run(process.execPath, ['-e', script], { env: stallEnv });
  t.equal(r.code, 0, r.stderr);
  t.ok(Number(r.stdout) >= 250, `a 1 ms timer waited up to ${r.stdout.trim()} ms`);
});

const cases = [
  ['channel/channel.test.mjs', ['a cancelled reservation gives its room back', 'timeouts and AbortSignal', 'reserve: room without blocking', 'zero copy across processes']],
  ['sync/futex.test.mjs', ['a blocking wait in one process is woken', 'an async wait is woken from another process', 'meant for another process', 'a Worker with pending async waits', 'closing the memory under a pending wait']],
  ['sync/sync.test.mjs', ['acquire is woken from another process', 'a pending acquire alone keeps', 'a waiter that gives up passes on a wake', 'close\\(\\) under a pending lock', 'recovered by lock', 'named mutexes']],
  ['mq/message-queue.test.mjs', ['receive does not block the event loop', '1000 awaited receives', 'for await yields messages until close', 'a pending receive keeps the process alive']],
  ['channel/liveness.test.mjs', ['a receiver blocked on an empty ring learns']],
  ['channel/corrupt.test.mjs', ['an opener that comes between']],
  ['channel/bell.test.mjs', ['closing the channel ends an asynchronous receive', 'a sleeping flag a peer scribbles on']],
  ['webhook/sidecar.test.mjs', ['producer and consumer exchange every message']],
  ['webhook/server.test.mjs', []],
  ['webhook/shutdown.test.mjs', []],
  ['pod/gc.test.mjs', ['gc removes what dead participants left']],
  ['cli/demo.test.mjs', ['exchanges data between two processes', 'names are gone early']],
  ['shm/sysv-namespace.test.mjs', ['more than the machine has available']],
  ['api/close-pending.test.mjs', []],
  ['api/open-wait.test.mjs', []],
  ['api/iterator.test.mjs', []],
  ['api/server.test.mjs', []],
  ['api/shared-signal.test.mjs', []],
  ['topic/api.test.mjs', ['timeouts reject with ETIMEDOUT']],
  ['topic/liveness.test.mjs', []],
  ['topic/policies.test.mjs', []],
  ['topic/history.test.mjs', ['a late joiner in another process']],
  ['service/give-up.test.mjs', []],
  ['service/ends.test.mjs', []],
  ['service/worker.test.mjs', []],
  ['service/call-sync.test.mjs', []],
  ['service/serve-sync.test.mjs', []],
];
// Hang guards only: the whole list took 3.5 min on a 2-core machine other runs shared.
t.setTimeout(900_000);

// Two at a time, like tap's jobs.
const results = new Map();
const queue = [...cases];
const worker = async () => {
  for (let c = queue.shift(); c; c = queue.shift()) {
    const [file, names] = c;
    const grep = names.length > 0 ? { TAP_GREP: names.join('\n') } : {};
    results.set(file, await run(process.execPath, [testFile(file)], { env: { ...stallEnv, ...grep }, timeoutMs: 300_000 }));
  }
};
const done = Promise.all([worker(), worker()]);

for (const [file, names] of cases) {
  t.test(`${file} under a ${STALL} ms stall`, async (t) => {
    await done;
    const r = results.get(file);
    const failed = r.stdout.split('\n').filter((l) => /^\s*not ok/.test(l));
    t.same(failed, [], `${file}: nothing failed`);
    t.equal(r.code, 0, `${file} exits 0${r.signal ? ` (killed: ${r.signal})` : ''}`);
    if (names.length === 0) t.match(r.stdout, /^ok \d+ - /m, `${file}: its tests ran`);
    for (const name of names) {
      const pattern = new RegExp(`^ok \\d+ - .*${name}`, 'm');
      t.match(r.stdout, pattern, `ran and passed: ${name.replaceAll('\\', '')}`);
    }
  });
}

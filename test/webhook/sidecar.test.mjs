// The sidecar example (examples/sidecar): consumer.js and producer.js as two processes,
// the way the pod's two containers run them, through a real channel in /dev/shm.
import t from 'tap';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as podshm from 'podshm';
import { uniqueName, until } from '../helpers.mjs';

const dir = fileURLToPath(new URL('../../examples/sidecar/', import.meta.url));

function start(script, env) {
  const child = spawn(process.execPath, [script], { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
  const done = new Promise((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, lines: stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)), stderr });
    }),
  );
  return { child, done, stdout: () => stdout };
}

t.test('producer and consumer exchange every message in order', { skip: typeof podshm.Channel !== 'function' && 'Channel is not in this build yet (issue 7)' }, async (t) => {
  const name = uniqueName('sidecar').slice(1);
  const env = { PODSHM_CHANNEL: name, MESSAGES: '20000', RATE: '0', CAPACITY: String(1 << 20) };
  // The producer first: the consumer starts once the producer says it waits for the channel.
  const producer = start('producer.js', env);
  await until(() => producer.stdout().includes('waiting for the consumer to create the channel'), "the producer's 'waiting for the consumer' line");
  const consumer = start('consumer.js', env);
  const [p, c] = await Promise.all([producer.done, consumer.done]);
  t.equal(p.code, 0, `producer exit 0 ${p.stderr}`);
  t.equal(c.code, 0, `consumer exit 0 ${c.stderr}`);
  t.match(p.lines.at(-1), { msg: 'producer done', sent: 20000 });
  t.match(c.lines.at(-1), { msg: 'consumer done', received: 20000, outOfOrder: 0 });
  t.throws(() => podshm.Channel.open(name), { code: 'ENOENT' }, 'a bounded run unlinks its channel');
});

t.test('the example scripts parse', async (t) => {
  for (const script of ['producer.js', 'consumer.js']) {
    const r = await new Promise((resolve) => spawn(process.execPath, ['--check', script], { cwd: dir }).on('close', resolve));
    t.equal(r, 0, script);
  }
});

// examples/topic runs as its README says: three subscriber processes each receive every message.
import t from 'tap';
import { fileURLToPath } from 'node:url';
import { run } from '../helpers.mjs';

t.test('examples/topic/fanout.js: one publisher, three subscriber processes', async (t) => {
  const r = await run(process.execPath, [fileURLToPath(new URL('../../examples/topic/fanout.js', import.meta.url))], { timeoutMs: 60_000 });
  t.equal(r.code, 0, r.stderr);
  t.same(r.stdout.trim().split('\n').sort(), [
    'publisher: 11 messages written once each',
    'subscriber 1: received 10 messages',
    'subscriber 2: received 10 messages',
    'subscriber 3: received 10 messages',
  ]);
});

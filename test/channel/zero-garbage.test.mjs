// The batch paths allocate nothing per message: 10 million messages through
// sendManySync and drain run without a single garbage collection (a few bytes per
// message would fill V8's young generation hundreds of times over).
import t from 'tap';
import { node } from '../helpers.mjs';

t.test('sendManySync + drain: 10 M messages, no garbage collection', async (t) => {
  const r = await node('zero-garbage.mjs', ['10000000'], { timeoutMs: 120_000 });
  t.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  t.equal(out.bytes, 64 * 10_000_000, 'every message went through');
  t.equal(out.collections, 0, 'no collection during the loop');
});

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

// A receive on the event loop that finds nothing sleeps until the bell rings: its wait
// used to allocate 5.1 to 6.1 KiB per message (a generator, promises per sleep, a peer
// check's lock list), which made a consumer at 10 k msg/s collect its young generation
// several times a second.
t.test('a receive on the event loop that sleeps for every message allocates little', async (t) => {
  for (const loop of ['view', 'for-await']) {
    const r = await node('wait-garbage.mjs', ['20000', loop], { timeoutMs: 120_000 });
    t.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    t.ok(out.sleepsPerMessage > 0.5, `${loop}: it slept for most messages (${out.sleepsPerMessage} sleeps per message)`);
    t.ok(out.windows >= 10, `${loop}: ${out.windows} windows without a collection`);
    t.ok(out.bytesPerMessage < 2560, `${loop}: ${out.bytesPerMessage} B per message, under 2.5 KiB`);
  }
});

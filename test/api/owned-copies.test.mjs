// What the default forms hand out is the caller's: later traffic through the ring never
// changes it. The view forms are the explicit exception, and say so.
import t from 'tap';
import { Channel } from 'podshm';
import { uniqueName } from '../helpers.mjs';

const fill = (v) => new Uint8Array(64).fill(v);

t.test('receive, receiveSync, tryReceive and for await give copies that never change', async (t) => {
  const ch = Channel.create(uniqueName('copies'), { capacity: 4096 });
  t.teardown(() => (ch.unlink(), ch.close()));
  const tx = ch.sender();
  const rx = ch.receiver();
  const kept = [];
  await tx.send(fill(10));
  kept.push([10, await rx.receive()]);
  tx.sendSync(fill(11));
  kept.push([11, rx.receiveSync()]);
  tx.sendSync(fill(12));
  kept.push([12, rx.tryReceive()]);
  // Far more than the 4 KiB ring holds: every byte of it is written over many times.
  for (let i = 0; i < 300; i++) {
    tx.sendSync(fill(99));
    rx.receiveSync();
  }
  const it = rx[Symbol.asyncIterator]();
  // A batch of one message (its own copy), then one of two (views of one chunk).
  tx.sendSync(fill(13));
  kept.push([13, (await it.next()).value]);
  tx.sendSync(fill(14));
  tx.sendSync(fill(15));
  kept.push([14, (await it.next()).value]);
  kept.push([15, (await it.next()).value]);
  for (let i = 0; i < 300; i++) {
    tx.sendSync(fill(98));
    await it.next();
  }
  for (const [v, msg] of kept) t.same([...new Set(msg)], [v], `the message of ${v}s still reads ${v}s`);
});

t.test('a view is the ring itself: it is reused once released, which is why it is opt-in', async (t) => {
  const ch = Channel.create(uniqueName('views'), { capacity: 4096 });
  t.teardown(() => (ch.unlink(), ch.close()));
  const tx = ch.sender();
  const rx = ch.receiver();
  tx.sendSync(fill(10));
  const view = rx.receiveViewSync();
  t.equal(view[0], 10);
  for (let i = 0; i < 300; i++) {
    tx.sendSync(fill(99));
    rx.receiveViewSync();
  }
  t.equal(view[0], 99, 'the old view now shows a later message');
});

t.test('Channel.create: exclusive by default, like every create; exclusive: false opens a matching one', async (t) => {
  const name = uniqueName('chexcl');
  const ch = Channel.create(name, { capacity: 4096, producers: 'multi' });
  t.teardown(() => (ch.unlink(), ch.close()));
  t.throws(() => Channel.create(name, { capacity: 4096, producers: 'multi' }), { code: 'EEXIST' });
  const same = Channel.create(name, { capacity: 4096, producers: 'multi', exclusive: false });
  t.teardown(() => same.close());
  same.sender().sendSync(Uint8Array.of(9));
  t.same([...ch.receiver().receiveSync({ timeout: 10_000 })], [9], 'the same channel');
  t.throws(() => Channel.create(name, { capacity: 8192, producers: 'multi', exclusive: false }), { code: 'EINVAL', message: /capacity 4096/ });
  t.throws(() => Channel.create(name, { capacity: 4096, exclusive: false }), { code: 'EINVAL', message: /producers 'multi'/ }, 'the defaults count as asked for');
  t.throws(() => Channel.create(name, { exclusive: 'no' }), { code: 'ERR_INVALID_ARG_TYPE' });
});

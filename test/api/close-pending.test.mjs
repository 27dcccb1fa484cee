// Closing an endpoint ends its own pending waits at once (EBADF; a for-await loop just
// ends), so that a server's shutdown handler never waits on a receive that will not come.
import t from 'tap';
import { Channel } from 'podshm';
import { uniqueName, within } from '../helpers.mjs';

t.test('rx.close() under a pending receive rejects it; a for-await loop ends', async (t) => {
  for (const wait of ['block', 'adaptive', 'spin']) {
    const ch = Channel.create(uniqueName('closerx'), { capacity: 4096, wait });
    const rx = ch.receiver();
    const pending = rx.receive();
    // The close runs from a timer: the receive has left the event loop free by then.
    setTimeout(() => rx.close(), 0);
    await t.rejects(within(pending, `${wait}: the pending receive settling`), { code: 'EBADF' }, `${wait}: EBADF`);
    const rx2 = ch.receiver();
    const loop = (async () => {
      let n = 0;
      for await (const msg of rx2) n += msg.length >= 0 ? 1 : 0;
      return n;
    })();
    setTimeout(() => rx2.close(), 0);
    t.equal(await within(loop, `${wait}: the for-await loop ending`), 0, `${wait}: the loop ended`);
    ch.unlink();
    ch.close();
  }
});

t.test('tx.close() under a send waiting for room rejects it, and sends nothing', async (t) => {
  const ch = Channel.create(uniqueName('closetx'), { capacity: 4096, wait: 'block' });
  t.teardown(() => (ch.unlink(), ch.close()));
  const rx = ch.receiver();
  const tx = ch.sender();
  let fitted = 0;
  while (tx.trySend(Uint8Array.of(1))) fitted++;
  const pending = tx.send(Uint8Array.of(7));
  setTimeout(() => tx.close(), 0);
  await t.rejects(within(pending, 'the pending send settling'), { code: 'EBADF' });
  let n = 0;
  while (rx.tryReceive() !== null) n++;
  t.equal(n, fitted, 'only the messages that fitted');
});

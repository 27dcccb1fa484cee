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

// The receive is asleep on the channel's bell when its receiver closes: it must leave the
// bell then, not when the bell next rings, or the next receiver of the same Channel,
// made in the same turn, could not wait on it.
t.test('a receiver made right after closing one whose wait sleeps gets the next message', async (t) => {
  for (const wait of ['block', 'adaptive']) {
    for (const form of ['receive', 'for await']) {
      const ch = Channel.create(uniqueName('closeswap'), { capacity: 4096, wait });
      const tx = ch.sender();
      const rx1 = ch.receiver();
      const first =
        form === 'receive'
          ? rx1.receive().then(() => 'a message', (err) => err.code)
          : (async () => {
              for await (const msg of rx1) return `a message ${msg}`;
              return 'ended';
            })();
      // Past the wait's spin: asleep.
      await new Promise((resolve) => setTimeout(resolve, 20));
      rx1.close();
      const rx2 = ch.receiver();
      const second = rx2.receive();
      t.equal(await within(first, `${wait}, ${form}: the closed receiver's wait settling`), form === 'receive' ? 'EBADF' : 'ended', `${wait}, ${form}: the closed one's wait ended`);
      tx.sendSync(Uint8Array.of(7));
      t.same([...(await within(second, `${wait}, ${form}: the new receiver's receive`))], [7], `${wait}, ${form}: the new one receives`);
      ch.unlink();
      ch.close();
    }
  }
});

// A receive that finds nothing lets the work its caller set going run before it spins and
// sleeps: a request's answer that settles a caller's promise is handled at once, not after
// the next wait's set-up (docs/performance.md, "Latency at a fixed rate"). The count of
// sleeps begun tells which came first.
import t from 'tap';
import { Channel } from 'podshm';
import { uniqueName } from '../helpers.mjs';
import { internal } from '../internal.mjs';

const { sleepCount } = internal('channel/wait');

for (const wait of ['block', 'adaptive']) {
  t.test(`'${wait}': a continuation queued before the receive runs before its sleep begins`, async (t) => {
    const ch = Channel.create(uniqueName('waitorder'), { capacity: 4096, wait });
    t.teardown(() => (ch.close(), ch.unlink()));
    const tx = ch.sender();
    const rx = ch.receiver();
    const before = sleepCount.value;
    let sleepsSeen = -1;
    Promise.resolve().then(() => (sleepsSeen = sleepCount.value - before));
    const pending = rx.receive();
    await new Promise((resolve) => setImmediate(resolve));
    t.equal(sleepsSeen, 0, 'the continuation ran before the wait began to sleep');
    t.equal(sleepCount.value - before, 1, 'then the wait slept');
    tx.sendSync(Uint8Array.of(7));
    t.same([...(await pending)], [7], 'and the message still arrives');
  });
}

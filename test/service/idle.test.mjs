// A service and a client that wait cost nothing while nothing happens (docs/design.md,
// "Waiting without a clock"): the side's ring receiver begins one sleep, the waiter
// thread (which holds the death notices' waits) does not pass, over a window three times
// the period the old clocks had; a periodic wake-up shows there however fast or slow the
// machine is. Nothing waits for the window to act: the peer's death, learned from its
// lock, ends the wait, behind a hang guard.
import t from 'tap';
import { setTimeout as delay } from 'node:timers/promises';
import { Client, PeerGoneError, Service } from 'podshm';
import { node, rawBinding, uniqueName, within } from '../helpers.mjs';
import { internal } from '../internal.mjs';
import { kill, server, start } from '../service-peers.mjs';

const { sleepCount } = internal('channel/wait');
const WINDOW_MS = 3_000;
const HANG_GUARD_MS = 60_000;

// Over the window: at most one sleep begun (one may have been ended by the event that
// came just before the window), and the pass of the waiter thread that took the notice's
// wait in and at most one more: slices of 100 ms would begin 30 sleeps, a look every
// second make three passes.
async function quietWindow(t) {
  const sleeps = sleepCount.value;
  const loops = rawBinding.waiter.loops();
  await delay(WINDOW_MS);
  const begun = sleepCount.value - sleeps;
  t.ok(begun <= 1, `sleeps begun over ${WINDOW_MS} ms: ${begun}`);
  const passes = rawBinding.waiter.loops() - loops;
  t.ok(passes <= 2, `waiter thread passes: ${passes}`);
}

t.test('a client with a call in flight sleeps on; the server dying ends the call', async (t) => {
  const name = uniqueName('svcidle');
  const s = await server(t, name);
  const client = Client.connect(name);
  t.teardown(() => client.close());
  const call = client.call(Buffer.from('hold:idle')).catch((err) => err);
  await s.saw('held idle');
  await quietWindow(t);
  await kill(s);
  t.ok((await within(call, "the server's death", HANG_GUARD_MS)) instanceof PeerGoneError, 'the call rejects with PeerGoneError');
});

t.test('a service waiting for calls sleeps on; a caller dying mid-call aborts its handler', async (t) => {
  const name = uniqueName('svcidle');
  let held;
  const aborted = new Promise((resolve) => {
    held = (request, ctx) => new Promise((answer) => ctx.signal.addEventListener('abort', () => (resolve(ctx.signal.reason), answer()), { once: true }));
  });
  const service = Service.serve(name, (request, ctx) => held(request, ctx));
  t.teardown(() => service.close());
  const c = start(t, 'service-client.mjs', [name, 'hold', 'k']);
  await c.saw('ring ');
  await within(
    (async () => {
      while (service.inFlight === 0) await delay(10);
    })(),
    'the call arriving',
    HANG_GUARD_MS,
  );
  await quietWindow(t);
  await kill(c);
  t.ok((await within(aborted, "the caller's death", HANG_GUARD_MS)) instanceof PeerGoneError, "the handler's signal aborts with PeerGoneError");
});

t.test('a client whose last call times out while it sleeps leaves the event loop; its next call brings it back', async (t) => {
  const name = uniqueName('svcidle');
  // hold:... is never answered.
  const service = Service.serve(name, (request) => (Buffer.from(request).toString().startsWith('hold') ? new Promise(() => {}) : request));
  t.teardown(() => service.close());
  // The fixture never closes its client: it ends only if the client's pump stopped.
  const r = await node('service-client.mjs', [name, 'idle'], { timeoutMs: HANG_GUARD_MS });
  t.equal(r.signal, null, 'not killed by the hang guard');
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout.trim(), 'answered echo:1 echo:2 ETIMEDOUT');
});

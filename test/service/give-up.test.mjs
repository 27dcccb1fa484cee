// A caller that gives up (its timeout, its abort) tells the server: the handler's
// signal aborts; the handler sees the caller's deadline.
import t from 'tap';
import { AbortError, Client, Service } from 'podshm';
import { uniqueName, within } from '../helpers.mjs';
import { server } from '../service-peers.mjs';

async function setup(t) {
  const name = uniqueName('svc');
  const s = await server(t, name);
  const client = Client.connect(name);
  t.teardown(() => client.close());
  return { s, client };
}

t.test("an abort rejects the call with AbortError and aborts the handler's signal", async (t) => {
  const { s, client } = await setup(t);
  const ac = new AbortController();
  const call = client.call(Buffer.from('hold:a'), { signal: ac.signal });
  await s.saw('held a');
  ac.abort('enough');
  const err = await call.catch((e) => e);
  t.ok(err instanceof AbortError);
  t.match(err, { code: 'ABORT_ERR', cause: 'enough' });
  t.equal(await s.saw('aborted a'), 'aborted a AbortError');
  t.equal(client.inFlight, 0);
});

t.test("a timeout rejects the call with ETIMEDOUT and aborts the handler's signal", async (t) => {
  const { s, client } = await setup(t);
  // The timeout has to outlast the call's way to its handler, which a loaded machine can
  // stretch past any figure: a call that ends before its handler says it holds it is made
  // again with twice the timeout, up to the hang guard's 30 s.
  for (let n = 0, ms = 500; ; n++, ms *= 2) {
    const call = client.call(Buffer.from(`hold:b${n}`), { timeout: ms }).then(
      () => null,
      (e) => e,
    );
    const held = s.saw(`held b${n}`);
    held.catch(() => {}); // a call given up before the server read it is never held
    if ((await Promise.race([held.then(() => 'held'), call.then(() => 'ended')])) === 'ended' && ms < 30_000) continue;
    await held;
    t.match(await call, { name: 'SystemError', code: 'ETIMEDOUT' }, `the call rejects when its ${ms} ms run out`);
    t.equal(await s.saw(`aborted b${n}`), `aborted b${n} AbortError`);
    break;
  }
});

t.test('a call with a shorter timeout, made after a longer one, times out at its own', async (t) => {
  const { client } = await setup(t);
  const ac = new AbortController();
  const long = client.call(Buffer.from('hold:long'), { timeout: 600_000, signal: ac.signal }).catch((e) => e);
  const short = client.call(Buffer.from('hold:short'), { timeout: 200 }).catch((e) => e);
  t.match(await within(short, 'the 200 ms call timing out'), { name: 'SystemError', code: 'ETIMEDOUT' });
  t.equal(client.inFlight, 1, 'the 600 s call is still in flight');
  ac.abort();
  t.ok((await long) instanceof AbortError);
});

t.test('the handler sees the deadline the caller set', async (t) => {
  const { client } = await setup(t);
  const before = Date.now();
  const deadline = Number(Buffer.from(await client.call(Buffer.from('deadline'), { timeout: 60_000 })).toString());
  t.ok(deadline >= before + 60_000 && deadline <= Date.now() + 60_000, `${deadline} is the call's time plus its timeout`);
  t.equal(Buffer.from(await client.call(Buffer.from('deadline'))).toString(), 'Infinity', 'no timeout: no deadline');
});

t.test('an aborted signal rejects at once, and nothing is sent', async (t) => {
  const { s, client } = await setup(t);
  await t.rejects(client.call(Buffer.from('hold:c'), { signal: AbortSignal.abort() }), { code: 'ABORT_ERR' });
  // The server says what it holds in order: once it has said "held d", a "held c" would have come first.
  const ac = new AbortController();
  const after = client.call(Buffer.from('hold:d'), { signal: ac.signal });
  await s.saw('held d');
  ac.abort();
  await t.rejects(after, { code: 'ABORT_ERR' });
  t.notOk(s.seen.includes('held c'), 'the server never saw the aborted call');
});

t.test('a handler that first reads its signal after the caller gave up finds it aborted', async (t) => {
  const name = uniqueName('svc');
  let held = null;
  const svc = Service.serve(name, (request, ctx) => (Buffer.from(request).toString() === 'hold' ? new Promise((resolve) => (held = { ctx, resolve })) : request));
  t.teardown(() => svc.close());
  const client = Client.connect(name);
  t.teardown(() => client.close());
  const ac = new AbortController();
  const call = client.call(Buffer.from('hold'), { signal: ac.signal });
  // Answered in order: once this echo is back, the server has taken the hold.
  await client.call(Buffer.from('echo'));
  t.ok(held !== null, 'the handler holds the call');
  ac.abort();
  await t.rejects(call, { code: 'ABORT_ERR' });
  // The cancel went into the request ring before this call: the server has taken it.
  await client.call(Buffer.from('echo'));
  t.equal(held.ctx.signal.aborted, true);
  t.ok(held.ctx.signal.reason instanceof AbortError, 'its reason an AbortError');
  t.equal(held.ctx.signal, held.ctx.signal, 'one signal per call');
  held.resolve(Buffer.from('too late'));
  // Its answer (dropped: nobody waits for it) is made in a microtask, all run by the next turn.
  await new Promise(setImmediate);
  t.equal(svc.inFlight, 0);
});

// callSync(): a call that blocks its thread, for workers that may block. The server is
// another process; a client whose thread is blocked in callSync is one too where the
// test must act meanwhile (kill the server, start it).
import t from 'tap';
import { Client, PeerGoneError, RemoteError } from 'podshm';
import { uniqueName, within } from '../helpers.mjs';
import { kill, server, start } from '../service-peers.mjs';

const text = (bytes) => Buffer.from(bytes).toString();

t.test('callSync: a round trip, a handler error, and calls after', async (t) => {
  const name = uniqueName('svc');
  const s = await server(t, name);
  const client = Client.connect(name);
  t.teardown(() => client.close());
  t.equal(text(client.callSync(Buffer.from('echo:one'), { timeout: 30_000 })), `${s.pid}:one`);
  const err = (() => {
    try {
      client.callSync(Buffer.from('fail:EQUOTA:over quota'));
    } catch (e) {
      return e;
    }
  })();
  t.ok(err instanceof RemoteError, `a RemoteError: ${err}`);
  t.match(err, { remoteCode: 'EQUOTA', message: 'over quota' });
  for (let i = 0; i < 100; i++) t.equal(text(client.callSync(Buffer.from(`echo:${i}`))), `${s.pid}:${i}`);
  t.equal(client.inFlight, 0);
  // The async form still works on the same client afterwards.
  t.equal(text(await client.call(Buffer.from('echo:async'))), `${s.pid}:async`);
});

t.test('callSync: ETIMEDOUT, and the handler is told', async (t) => {
  const name = uniqueName('svc');
  const s = await server(t, name);
  const client = Client.connect(name);
  t.teardown(() => client.close());
  // The timeout has to outlast the call's way to its handler, which a loaded machine can
  // stretch past any figure: a call its handler never held is made again with twice the
  // timeout. The server reads requests in order and says each line before it answers,
  // so once the next call's line is seen, a "held" line of this one would be seen too.
  for (let n = 0, ms = 500; ; n++, ms *= 2) {
    t.throws(() => client.callSync(Buffer.from(`hold:t${n}`), { timeout: ms }), { name: 'SystemError', code: 'ETIMEDOUT' }, `ETIMEDOUT after ${ms} ms`);
    t.equal(client.inFlight, 0);
    t.equal(text(client.callSync(Buffer.from(`say:after${n}`))), `${s.pid}:after${n}`, 'the next call is answered');
    await s.saw(`said after${n}`);
    if (!s.seen.includes(`held t${n}`) && ms < 30_000) continue;
    t.equal(await s.saw(`aborted t${n}`), `aborted t${n} AbortError`, "the handler's signal aborted by the cancel");
    break;
  }
});

t.test('callSync: a server SIGKILLed with the call in flight throws PeerGoneError', async (t) => {
  const name = uniqueName('svc');
  const s = await server(t, name);
  const c = start(t, 'service-client.mjs', [name, 'sync', 'hold:k']);
  await c.saw('calling');
  await s.saw('held k');
  await kill(s);
  t.equal(await c.saw('threw '), 'threw PeerGoneError ERR_PEER_GONE');
  t.match(await c.exited, { code: 0 }, 'the client closes (removing its ring) and ends');
});

t.test('callSync: made while no server is up, it waits for the next server; waitForServer: false throws at once', async (t) => {
  const name = uniqueName('svc');
  const client = Client.connect(name);
  t.teardown(() => client.close());
  t.throws(() => client.callSync(Buffer.from('echo:x'), { waitForServer: false }), PeerGoneError);
  t.throws(() => client.callSync(Buffer.from('echo:x'), { timeout: 0 }), { code: 'ETIMEDOUT' });
  const c = start(t, 'service-client.mjs', [name, 'sync', 'echo:late']);
  await c.saw('calling');
  const s = await server(t, name);
  t.equal(await c.saw('answer '), `answer ${s.pid}:late`);
  t.match(await c.exited, { code: 0 }, 'the client closes (removing its ring) and ends');
});

t.test('callSync: EBUSY while call() has calls in flight on the client; arguments checked', async (t) => {
  const name = uniqueName('svc');
  const s = await server(t, name);
  const client = Client.connect(name);
  t.teardown(() => client.close());
  const pending = client.call(Buffer.from('hold:b'));
  await s.saw('held b');
  t.throws(() => client.callSync(Buffer.from('echo:x')), { code: 'EBUSY' });
  client.close();
  await t.rejects(within(pending, 'the pending call ending'), { code: 'EBADF' });
  t.throws(() => client.callSync(Buffer.from('echo:x')), { code: 'EBADF' }, 'a closed client');
  const other = Client.connect(name);
  t.teardown(() => other.close());
  t.throws(() => other.callSync('text'), { name: 'ArgumentError', code: 'ERR_INVALID_ARG_TYPE', argument: 'payload' });
  t.throws(() => other.callSync(Buffer.from('x'), { signal: AbortSignal.timeout(1) }), { code: 'ERR_UNKNOWN_OPTION' });
});

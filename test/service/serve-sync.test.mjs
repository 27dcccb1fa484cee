// Service.serveSync(): a server whose thread blocks while it serves, in a process of its
// own, answering clients of the event loop and callSync alike.
import t from 'tap';
import { existsSync } from 'node:fs';
import { Channel, Client, RemoteError } from 'podshm';
import { uniqueName, until } from '../helpers.mjs';
import { kill, start, syncServer } from '../service-peers.mjs';

const text = (bytes) => Buffer.from(bytes).toString();

t.test('serveSync answers calls, callSync and handler errors; a handler that returns a Promise is told', async (t) => {
  const name = uniqueName('svc');
  const s = await syncServer(t, name, 'forever');
  const client = Client.connect(name);
  t.teardown(() => client.close());
  // The first call waits for the ring serveSync makes.
  t.equal(text(await client.call(Buffer.from('echo:one'), { timeout: 30_000 })), `${s.pid}:one`);
  const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => client.call(Buffer.from(`echo:${i}`))));
  t.same(answers.map(text), Array.from({ length: 200 }, (_, i) => `${s.pid}:${i}`), '200 calls in flight, each its own answer');
  const err = await client.call(Buffer.from('fail:EQUOTA:over quota')).catch((e) => e);
  t.ok(err instanceof RemoteError, `${err}`);
  t.match(err, { remoteCode: 'EQUOTA', message: 'over quota' });
  const promised = await client.call(Buffer.from('promise')).catch((e) => e);
  t.match(promised, { name: 'RemoteError', remoteCode: 'ERR_INVALID_ARG_TYPE', message: /not a Promise/ });
  const other = Client.connect(name);
  t.teardown(() => other.close());
  t.equal(text(other.callSync(Buffer.from('echo:sync'), { timeout: 30_000 })), `${s.pid}:sync`, 'callSync from another client');
});

t.test('serveSync returns after its idle timeout, having closed the service (its ring removed)', async (t) => {
  const name = uniqueName('svc');
  const s = await syncServer(t, name, '1000');
  const client = Client.connect(name);
  t.teardown(() => client.close());
  for (let i = 0; i < 5; i++) t.equal(text(await client.call(Buffer.from(`echo:${i}`), { timeout: 30_000 })), `${s.pid}:${i}`);
  t.equal(await s.saw('returned '), 'returned 5');
  t.match(await s.exited, { code: 0 });
  t.notOk(existsSync(`/dev/shm${name}`), 'the request ring removed');
});

t.test('serveSync with a codec', async (t) => {
  const name = uniqueName('svc');
  const s = await syncServer(t, name, 'forever', 'v8');
  const client = Client.connect(name, { codec: 'v8' });
  t.teardown(() => client.close());
  const value = { when: new Date(0), tags: new Set(['a']) };
  t.same(await client.call(value, { timeout: 30_000 }), { echo: value, pid: s.pid });
});

t.test("serveSync removes the ring of a client SIGKILLed while the server's thread is blocked", async (t) => {
  const name = uniqueName('svc');
  const s = await syncServer(t, name, 'forever');
  const first = Client.connect(name);
  t.teardown(() => first.close());
  t.equal(text(await first.call(Buffer.from('echo:up'), { timeout: 30_000 })), `${s.pid}:up`);
  // Its call (hold:k) is answered like any other; then it waits to be killed.
  const c = start(t, 'service-client.mjs', [name, 'hold', 'k']);
  const ring = (await c.saw('ring ')).split(' ')[1];
  // The server watches a client from its first call on: kill this one once answered.
  const answers = Channel.open(ring);
  await until(() => answers.stats().messagesSent === 1, 'the call answered');
  answers.close();
  await kill(c);
  await until(() => !existsSync(`/dev/shm${ring}`), "the dead client's ring removed");
  t.equal(text(await first.call(Buffer.from('echo:still'))), `${s.pid}:still`, 'and the others are served on');
});

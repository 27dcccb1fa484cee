// Calls across processes: many clients with many calls in flight each get their own
// responses; a handler's error comes back typed; a response written in place arrives.
import t from 'tap';
import { Channel, Client, RemoteError, Service } from 'podshm';
import { node, uniqueName, until } from '../helpers.mjs';
import { server, start } from '../service-peers.mjs';

const text = (bytes) => Buffer.from(bytes).toString();

t.test('4 client processes x 100 calls in flight each: every response is its call', async (t) => {
  const name = uniqueName('svc');
  await server(t, name);
  const runs = await Promise.all([1, 2, 3, 4].map(() => node('service-client.mjs', [name, 'calls', '2000', '100'])));
  for (const r of runs) t.match(r, { code: 0, stdout: 'ok 2000\n' }, r.stderr);
});

t.test('3 client processes x 100 000 calls, 32 in flight each: every response is its call', async (t) => {
  const name = uniqueName('svc');
  await server(t, name);
  const runs = await Promise.all([1, 2, 3].map(() => node('service-client.mjs', [name, 'calls', '100000', '32'], { timeoutMs: 110_000 })));
  for (const r of runs) t.match(r, { code: 0, stdout: 'ok 100000\n' }, r.stderr);
});

t.test('a client that stops reading fills only its own ring: the others are answered meanwhile', async (t) => {
  const name = uniqueName('svc');
  const s = await server(t, name);
  const slow = start(t, 'service-client.mjs', [name, 'slow', '40', '4000']);
  const ringName = (await slow.saw('ring ')).split(' ')[1];
  t.teardown(() => slow.child.kill('SIGCONT'));
  // It stops itself once its calls are sent, before it can read an answer.
  await slow.saw('sent');
  // Its 16 KiB ring holds four of its 4 KiB answers: the server's next answer to it waits for room.
  const ring = Channel.open(ringName);
  t.teardown(() => ring.close());
  await until(() => ring.stats().usedBytes + 4096 > ring.capacity, "the stopped client's ring full");
  const client = Client.connect(name);
  t.teardown(() => client.close());
  const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => client.call(Buffer.from(`echo:${i}`))));
  t.same(answers.map(text), Array.from({ length: 50 }, (_, i) => `${s.pid}:${i}`), 'answered while the stopped client holds its ring full');
  slow.child.kill('SIGCONT');
  t.equal(await slow.saw('ok'), 'ok 40', 'and the stopped one gets all its answers once it runs again');
});

t.test('responses, handler errors and in-place responses from another process', async (t) => {
  const name = uniqueName('svc');
  const s = await server(t, name);
  const client = Client.connect(name);
  t.teardown(() => client.close());
  t.equal(text(await client.call(Buffer.from('echo:hi'))), `${s.pid}:hi`);
  t.equal(text(await client.call(new Uint16Array(new TextEncoder().encode('echo:ab').buffer, 0, 3))), `${s.pid}:a`, 'any ArrayBufferView');
  t.equal(text(await client.call(Buffer.from('zc:in place'))), `${s.pid}:in place`, 'the committed length of a reservation');
  const err = await client.call(Buffer.from('fail:EQUOTA:over quota')).catch((e) => e);
  t.ok(err instanceof RemoteError, 'a RemoteError');
  t.match(err, { code: 'ERR_REMOTE', remoteCode: 'EQUOTA', remoteName: 'Error', message: 'over quota', remoteStack: undefined, object: client.name });
  t.notMatch(err.stack, /service-server/, "no frame of the server's stack");
  t.equal(client.inFlight, 0);
});

t.test('a reservation the handler leaves open is given back: the error arrives, and later answers too', async (t) => {
  const name = uniqueName('svc');
  const s = await server(t, name);
  const client = Client.connect(name);
  t.teardown(() => client.close());
  await t.rejects(client.call(Buffer.from('zcfail')), { code: 'ERR_REMOTE', remoteCode: 'EZC' });
  await t.rejects(client.call(Buffer.from('zcopen')), { code: 'ERR_REMOTE', remoteCode: 'EINVAL', message: /did not commit/ });
  t.equal(text(await client.call(Buffer.from('echo:next'))), `${s.pid}:next`);
});

t.test('a reservation made after its handler returned is given back, with EINVAL to the handler: later answers still come', async (t) => {
  const name = uniqueName('svc');
  let refused = null;
  const svc = Service.serve(name, (request, ctx) => {
    if (Buffer.from(request).toString() !== 'late') return request;
    ctx.reserve(8).then(
      (r) => r.commit(),
      (err) => (refused = err),
    );
  });
  t.teardown(() => svc.close());
  const client = Client.connect(name);
  t.teardown(() => client.close());
  t.same(await client.call(Buffer.from('late')), new Uint8Array(0), 'the empty answer the handler returned');
  // The answer came through the ring after the refusal: it was made in the handler's turn.
  t.match(refused, { code: 'EINVAL', message: /before its reservation/ });
  t.same(await client.call(Buffer.from('next')), Buffer.from('next'), 'the ring is not held by it');
});

t.test("remoteStack: true sends the handler's stack", async (t) => {
  const name = uniqueName('svc');
  await server(t, name, 'remoteStack');
  const client = Client.connect(name);
  t.teardown(() => client.close());
  const err = await client.call(Buffer.from('fail:E1:x')).catch((e) => e);
  t.match(err.remoteStack, /service-server\.mjs/);
});

t.test("wait: each ring waits 'block' unless asked otherwise, and calls go either way", async (t) => {
  const name = uniqueName('svc');
  t.throws(() => Service.serve(name, (req) => req, { wait: 'busy' }), { code: 'ERR_OUT_OF_RANGE', message: /wait/ });
  t.throws(() => Client.connect(name, { wait: 'busy' }), { code: 'ERR_OUT_OF_RANGE', message: /wait/ });
  const svc = Service.serve(name, (req) => req, { wait: 'adaptive' });
  t.teardown(() => svc.close());
  const waitOf = (ringName) => {
    const ring = Channel.open(ringName);
    const wait = ring.wait;
    ring.close();
    return wait;
  };
  t.equal(waitOf(name), 'adaptive', 'the request ring');
  const plain = Client.connect(name);
  t.teardown(() => plain.close());
  const spinning = Client.connect(name, { wait: 'spin' });
  t.teardown(() => spinning.close());
  t.equal(waitOf(`${name}.client.${plain.id}`), 'block', 'a response ring by default');
  t.equal(waitOf(`${name}.client.${spinning.id}`), 'spin');
  for (const client of [plain, spinning]) t.same(await client.call(Buffer.from('x')), Buffer.from('x'));
  const other = uniqueName('svc');
  const byDefault = Service.serve(other, (req) => req);
  t.teardown(() => byDefault.close());
  t.equal(waitOf(other), 'block', 'a request ring by default');
});

t.test('bad arguments are typed errors, and a second server of one name is EBUSY', async (t) => {
  const name = uniqueName('svc');
  t.throws(() => Client.connect(42), { code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => Client.connect(name, { capacty: 4096 }), { code: 'ERR_UNKNOWN_OPTION', message: /capacity/ });
  t.throws(() => Client.connect(name, { capacity: 1000 }), { code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => Service.serve(name, 'not a function'), { code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => Service.serve(name, () => {}, { remoteStack: 1 }), { code: 'ERR_INVALID_ARG_TYPE' });
  const svc = Service.serve(name, (req) => req);
  t.teardown(() => svc.close());
  t.throws(() => Service.serve(name, () => {}), { code: 'EBUSY' });
  const client = Client.connect(name);
  t.teardown(() => client.close());
  await t.rejects(client.call('text'), { code: 'ERR_INVALID_ARG_TYPE' });
  await t.rejects(client.call(Buffer.from('x'), { timeout: -1 }), { code: 'ERR_OUT_OF_RANGE' });
  await t.rejects(client.call(Buffer.from('x'), { timout: 5 }), { code: 'ERR_UNKNOWN_OPTION', message: /timeout/ });
  await t.rejects(client.call(Buffer.from('x'), { signal: 'no' }), { code: 'ERR_INVALID_ARG_TYPE' });
  await t.rejects(client.call(new Uint8Array(1 << 20)), { code: 'EMSGSIZE' });
  t.same(await client.call(Buffer.from('same')), Buffer.from('same'), 'the client still works');
  client.close();
  await t.rejects(client.call(Buffer.from('x')), { code: 'EBADF' });
});

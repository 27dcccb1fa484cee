// Codecs between real processes: for each codec, values sent by one process arrive whole
// in another on a Channel, a Topic and a Service; bytes the codec cannot decode give a
// CodecError holding them, and the message after them still arrives.
import t from 'tap';
import { Channel, Client, CodecError, RemoteError, Topic, Service } from 'podshm';
import { node, run, uniqueName, within } from '../helpers.mjs';
import { start } from '../service-peers.mjs';
import { CODECS, MALFORMED, codecOf, sample } from '../codecs.mjs';

const decodeError = (codec) => ({ code: 'ERR_PODSHM_DECODE', codec: codec === 'custom' ? 'custom' : codec, bytes: new Uint8Array(MALFORMED[codec]) });

for (const codec of CODECS) {
  t.test(`${codec}: a Channel carries values from another process; a message that does not decode is a CodecError, and the next arrives`, async (t) => {
    const name = uniqueName('codec');
    const ch = Channel.create(name, { capacity: 16384, producers: 'multi' });
    t.teardown(() => {
      ch.close();
      Channel.unlink(name);
    });
    const rx = ch.receiver({ codec: codecOf(codec) });
    const run = node('codec-peer.mjs', ['channel', name, codec]);
    t.same(await within(rx.receive(), 'the first value'), sample(codec, 1));
    const err = await within(rx.receive().catch((e) => e), 'the malformed message');
    t.ok(err instanceof CodecError, `a CodecError: ${err}`);
    t.match(err, decodeError(codec));
    t.ok(err.cause instanceof Error, "the codec's own error in cause");
    t.same(rx.receiveSync({ timeout: 30_000 }), sample(codec, 2), 'the next message arrives');
    t.match(await run, { code: 0 });
  });

  t.test(`${codec}: a Topic carries values from another process; a message that does not decode is a CodecError, and the next arrives`, async (t) => {
    const name = uniqueName('codec');
    const topic = Topic.create(name, { capacity: 16384 });
    t.teardown(() => {
      topic.close();
      Topic.unlink(name);
    });
    const sub = topic.subscriber({ codec: codecOf(codec) });
    const run = node('codec-peer.mjs', ['topic', name, codec]);
    const got = [];
    // for await gives the error out of the loop; a new loop goes on with the next message.
    const err = await within(
      (async () => {
        try {
          for await (const value of sub) got.push(value);
        } catch (e) {
          return e;
        }
      })(),
      'the malformed message',
    );
    t.same(got, [sample(codec, 1)]);
    t.ok(err instanceof CodecError, `a CodecError: ${err}`);
    t.match(err, decodeError(codec));
    for await (const value of sub) {
      t.same(value, sample(codec, 2), 'the next message arrives');
      break;
    }
    t.match(await run, { code: 0 });
  });

  t.test(`${codec}: a Service and its Client exchange values across processes, with call() and callSync()`, async (t) => {
    const name = uniqueName('codec');
    // The server is killed at teardown, leaving its ring as a server that dies does.
    t.teardown(() => Service.unlink(name));
    const server = start(t, 'codec-peer.mjs', ['service', name, codec]);
    await server.saw('serving');
    const client = Client.connect(name, { codec: codecOf(codec) });
    t.teardown(() => client.close());
    const answer = await client.call(sample(codec, 1), { timeout: 30_000 });
    t.same(answer, { echo: sample(codec, 1), pid: server.child.pid });
    t.same(client.callSync(sample(codec, 2), { timeout: 30_000 }), { echo: sample(codec, 2), pid: server.child.pid }, 'callSync');

    // A response that does not decode: that call fails with it, the next is answered.
    const err = await client.call({ raw: true }, { timeout: 30_000 }).catch((e) => e);
    t.ok(err instanceof CodecError, `a CodecError: ${err}`);
    t.match(err, decodeError(codec));
    t.throws(() => client.callSync({ raw: true }, { timeout: 30_000 }), decodeError(codec), 'callSync too');
    t.same(await client.call(sample(codec, 3), { timeout: 30_000 }), { echo: sample(codec, 3), pid: server.child.pid }, 'the next call is answered');

    // A request that does not decode reaches its caller as the server's CodecError.
    const raw = Client.connect(name);
    t.teardown(() => raw.close());
    const remote = await raw.call(MALFORMED[codec], { timeout: 30_000 }).catch((e) => e);
    t.ok(remote instanceof RemoteError, `a RemoteError: ${remote}`);
    t.match(remote, { remoteName: 'CodecError', remoteCode: 'ERR_PODSHM_DECODE' });
    t.same(await client.call(sample(codec, 4), { timeout: 30_000 }), { echo: sample(codec, 4), pid: server.child.pid }, 'and the service serves on');
  });
}

t.test('a value the codec cannot encode is a CodecError (ERR_PODSHM_ENCODE), and nothing is sent', async (t) => {
  const name = uniqueName('codec');
  const ch = Channel.create(name, { capacity: 4096 });
  t.teardown(() => {
    ch.close();
    Channel.unlink(name);
  });
  const tx = ch.sender({ codec: 'json' });
  const rx = ch.receiver();
  t.throws(() => tx.sendSync({ big: 1n }), { name: 'CodecError', code: 'ERR_PODSHM_ENCODE', codec: 'json' });
  t.throws(() => tx.trySend(undefined), { code: 'ERR_PODSHM_ENCODE' });
  await t.rejects(tx.send(() => {}), { code: 'ERR_PODSHM_ENCODE' });
  t.equal(rx.tryReceive(), null, 'nothing was sent');
  tx.sendSync([1]);
  t.same(Buffer.from(rx.tryReceive()).toString(), '[1]', 'the bytes are the JSON text');
});

t.test('codec options: a bad name or object is an ArgumentError; the zero-copy forms stay bytes', async (t) => {
  const name = uniqueName('codec');
  const ch = Channel.create(name, { capacity: 4096 });
  t.teardown(() => {
    ch.close();
    Channel.unlink(name);
  });
  t.throws(() => ch.sender({ codec: 'yaml' }), { name: 'ArgumentError', code: 'ERR_OUT_OF_RANGE', argument: 'codec' });
  t.throws(() => ch.receiver({ codec: { encode: () => {} } }), { name: 'ArgumentError', code: 'ERR_INVALID_ARG_TYPE', argument: 'codec' });
  t.throws(() => ch.sender({ codex: 'json' }), { code: 'ERR_UNKNOWN_OPTION' });
  const tx = ch.sender({ codec: 'v8' });
  const rx = ch.receiver({ codec: 'v8' });
  tx.sendSync({ a: 1 });
  const view = rx.receiveViewSync();
  t.ok(view instanceof Uint8Array, 'receiveView gives the bytes');
  t.same(Buffer.from(view), Buffer.from((await import('node:v8')).serialize({ a: 1 })));
  const r = tx.reserveSync(4);
  t.equal(r.bytes.length, 4, 'reserve gives bytes');
  r.cancel();
  t.throws(() => rx.readable(), { code: 'ERR_OUT_OF_RANGE', argument: 'codec' }, 'a stream carries bytes');
  t.throws(() => tx.writable(), { code: 'ERR_OUT_OF_RANGE', argument: 'codec' });
  t.same(rx.handle().codec, 'v8', "a handle carries a built-in codec's name");
});

t.test('a Service and a Client of one codec serve a value with no JSON form as an empty response: undefined', async (t) => {
  const name = uniqueName('codec');
  const service = Service.serve(name, () => undefined, { codec: 'json' });
  t.teardown(() => service.close());
  const client = Client.connect(name, { codec: 'json' });
  t.teardown(() => client.close());
  t.equal(await client.call({ any: 1 }, { timeout: 30_000 }), undefined);
});

t.test("'msgpackr' where the package is not installed: a CodecMissingError naming it, at the endpoint's making", async (t) => {
  // The package resolves here (a devDependency); this child resolves it as an install without it would.
  const code = `
    const Module = require('node:module');
    const resolve = Module._resolveFilename;
    Module._resolveFilename = function (request, ...rest) {
      if (request === 'msgpackr') throw Object.assign(new Error("Cannot find module 'msgpackr'"), { code: 'MODULE_NOT_FOUND' });
      return resolve.call(this, request, ...rest);
    };
    const { Channel, CodecMissingError } = require('podshm');
    const ch = Channel.create(${JSON.stringify(uniqueName('codec'))}, { capacity: 4096 });
    try {
      ch.sender({ codec: 'msgpackr' });
      console.log('made');
    } catch (err) {
      console.log(err instanceof CodecMissingError, err.code, err.packageName, err.message);
    } finally {
      ch.unlink();
      ch.close();
    }
  `;
  const r = await run(process.execPath, ['-e', code]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^true ERR_MODULE_NOT_FOUND msgpackr .*npm install msgpackr/);
});

t.test("a Channel's sendMany and for await with a codec; a handle carries the codec to a worker", async (t) => {
  const name = uniqueName('codec');
  const ch = Channel.create(name, { capacity: 16384, producers: 'multi' });
  t.teardown(() => {
    ch.close();
    Channel.unlink(name);
  });
  const tx = ch.sender({ codec: 'v8' });
  const raw = ch.sender();
  const rx = ch.receiver({ codec: 'v8' });
  await tx.sendMany([sample('v8', 1), sample('v8', 2)]);
  raw.sendSync(MALFORMED.v8);
  tx.sendManySync([sample('v8', 3)]);
  const got = [];
  const err = await within(
    (async () => {
      try {
        for await (const value of rx) got.push(value);
      } catch (e) {
        return e;
      }
    })(),
    'the malformed message',
  );
  t.same(got, [sample('v8', 1), sample('v8', 2)]);
  t.match(err, decodeError('v8'));
  for await (const value of rx) {
    t.same(value, sample('v8', 3), 'a new loop goes on after the message that did not decode');
    break;
  }

  // The worker's sender, revived from a handle, encodes with the same codec.
  const { Worker } = await import('node:worker_threads');
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const { fromHandle } = require('podshm');
     const tx = fromHandle(workerData);
     tx.sendSync({ from: 'worker', at: new Date(5) });
     tx.close();
     parentPort.postMessage('sent');`,
    { eval: true, workerData: tx.handle() },
  );
  t.teardown(() => worker.terminate());
  t.same(await within(rx.receive(), "the worker's value"), { from: 'worker', at: new Date(5) });
  const again = Channel.open(name);
  const own = again.sender({ codec: { encode: () => new Uint8Array(0), decode: () => null } });
  t.throws(() => own.handle(), { name: 'ArgumentError', argument: 'codec' }, "a codec of the caller's cannot cross to a worker");
  again.close();
});

t.test('a value a codec decoded owns its bytes: a Buffer in it stays as it was once the ring is reused', async (t) => {
  for (const codec of ['v8', 'msgpackr']) {
    const ch = Channel.create(uniqueName('codecown'), { capacity: 4096 });
    t.teardown(() => (ch.unlink(), ch.close()));
    const tx = ch.sender({ codec });
    const rx = ch.receiver({ codec });
    tx.sendSync({ b: Buffer.from('the first message') });
    const kept = rx.receiveSync();
    for (let i = 0; i < 200; i++) {
      tx.sendSync({ b: Buffer.from(`XXXXXXXXXXXXXXXXXXXXXXXX${i}`) });
      rx.receiveSync();
    }
    t.equal(Buffer.from(kept.b).toString(), 'the first message', `${codec}: unchanged after 200 more messages`);
    t.notOk(kept.b.buffer instanceof SharedArrayBuffer, `${codec}: not a view of the ring`);
  }
});

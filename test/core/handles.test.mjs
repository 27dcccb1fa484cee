// Handing podshm objects to real worker_threads Workers: handle() in the main thread,
// fromHandle() in the worker, and the object works there; posting the object itself is a
// DataCloneError that names handle().
import t from 'tap';
import { Worker, MessageChannel } from 'node:worker_threads';
import { inspect } from 'node:util';
import {
  ArgumentError,
  Channel,
  FutexWord,
  MessageQueue,
  Mutex,
  Semaphore,
  SharedMemory,
  SysVSharedMemory,
  fromHandle,
} from 'podshm';
import { fixture, uniqueName, within } from '../helpers.mjs';

const text = (s) => new TextEncoder().encode(s);

/** A Worker running test/fixtures/handle-worker.mjs; next() is its next report. */
function start(t, op, handle) {
  const worker = new Worker(fixture('handle-worker.mjs'), { workerData: { op, handle } });
  const queue = [];
  const waiting = [];
  worker.on('message', (m) => (waiting.length > 0 ? waiting.shift()(m) : queue.push(m)));
  worker.on('error', (err) => t.fail(`worker error: ${err.stack}`));
  const exited = new Promise((resolve) => worker.once('exit', resolve));
  t.teardown(() => worker.terminate());
  const next = (what = 'the next report of the worker') => within(queue.length > 0 ? Promise.resolve(queue.shift()) : new Promise((resolve) => waiting.push(resolve)), what);
  return { worker, next, exited: () => within(exited, 'the worker to exit') };
}

async function expectSteps(t, w, steps) {
  for (const step of steps) {
    const m = await w.next(`step ${step}`);
    t.equal(m.step, step, m.step === 'error' ? `${m.name} ${m.code}: ${m.message}` : `step ${step}`);
  }
}

t.test('SharedMemory: the worker maps the same memory; each side closes its own', async (t) => {
  const name = uniqueName('h-shm');
  const shm = SharedMemory.create(name, 4096);
  t.teardown(() => {
    shm.close();
    SharedMemory.unlink(name);
  });
  new Uint8Array(shm.buffer)[0] = 7;
  const w = start(t, 'memory', shm.handle());
  t.match(await w.next(), { step: 'opened', kind: 'SharedMemory' });
  t.match(await w.next(), { step: 'read', value: 7 }, 'the worker reads what main wrote');
  await expectSteps(t, w, ['closed']);
  await w.exited();
  t.equal(new Uint8Array(shm.buffer)[1], 42, 'main reads what the worker wrote');
  t.equal(shm.closed, false, "the worker's close() did not close main's object");
});

t.test('SysVSharedMemory: the worker attaches the segment by id, also after unlink()', async (t) => {
  const seg = SysVSharedMemory.create('private', 4096);
  t.teardown(() => seg.close());
  seg.unlink();
  new Uint8Array(seg.buffer)[0] = 7;
  const w = start(t, 'memory', seg.handle());
  t.match(await w.next(), { step: 'opened', kind: 'SysVSharedMemory' });
  t.match(await w.next(), { step: 'read', value: 7 });
  await expectSteps(t, w, ['closed']);
  await w.exited();
  t.equal(new Uint8Array(seg.buffer)[1], 42);
});

for (const kind of ['Channel', 'Sender']) {
  t.test(`${kind}: a message sent from the worker is received in main`, async (t) => {
    const name = uniqueName('h-ch');
    const ch = Channel.create(name, { capacity: 4096 });
    t.teardown(() => {
      ch.close();
      Channel.unlink(name);
    });
    const rx = ch.receiver({ producersGone: 'end' });
    let handle = ch.handle();
    if (kind === 'Sender') {
      // A single-producer channel has one producer: the worker takes over from this one.
      const tx = ch.sender();
      handle = tx.handle();
      tx.close();
    }
    t.equal(handle.podshm, kind);
    const w = start(t, 'send', handle);
    t.match(await w.next(), { step: 'opened', kind });
    t.equal(new TextDecoder().decode(await within(rx.receive(), 'the message from the worker')), 'from the worker');
    await expectSteps(t, w, ['closed']);
    await w.exited();
    // The worker's producer is gone with its close(): the receiver's loop ends.
    await t.rejects(within(rx.receive(), 'PeerGoneError'), { code: 'ERR_PEER_GONE' });
  });
}

t.test('Sender: a live single producer makes fromHandle() EBUSY, saying to close it first', async (t) => {
  const name = uniqueName('h-busy');
  const ch = Channel.create(name, { capacity: 4096 });
  t.teardown(() => {
    ch.close();
    Channel.unlink(name);
  });
  const tx = ch.sender();
  const w = start(t, 'send', tx.handle());
  const m = await w.next();
  t.match(m, { step: 'error', name: 'SystemError', code: 'EBUSY' });
  t.match(m.message, /close the one the handle was made from before fromHandle\(\)/);
});

t.test('Receiver: the worker takes the consumer over once main has closed its receiver', async (t) => {
  const name = uniqueName('h-rx');
  const ch = Channel.create(name, { capacity: 4096 });
  t.teardown(() => {
    ch.close();
    Channel.unlink(name);
  });
  const rx = ch.receiver({ producersGone: 'end' });
  const handle = rx.handle();
  t.same(handle, { podshm: 'Receiver', name: ch.name, dir: '/dev/shm', fileId: handle.fileId, producersGone: 'end' });

  const busy = start(t, 'receive', handle);
  t.match(await busy.next(), { step: 'error', code: 'EBUSY' }, 'EBUSY while main has its receiver open');

  rx.close();
  const tx = ch.sender();
  const w = start(t, 'receive', handle);
  await expectSteps(t, w, ['opened', 'receiving']);
  await tx.send(text('to the worker'));
  t.match(await w.next(), { step: 'received', text: 'to the worker' });
  await expectSteps(t, w, ['closed']);
  await w.exited();
  t.equal(ch.stats().consumerAlive, false, "the worker's consumer is gone with its close()");
});

t.test('MessageQueue: a message sent from the worker is received in main', async (t) => {
  const name = uniqueName('h-mq');
  const q = MessageQueue.create(name, { maxMessages: 4, messageSize: 64 });
  t.teardown(() => {
    q.close();
    MessageQueue.unlink(name);
  });
  const w = start(t, 'mq-send', q.handle());
  t.match(await w.next(), { step: 'opened', kind: 'MessageQueue' });
  const msg = await within(q.receive(), 'the message from the worker');
  t.equal(Buffer.from(msg.data).toString(), 'from the worker');
  await expectSteps(t, w, ['closed']);
});

function namedMutex(t) {
  const name = uniqueName('h-mutex');
  const m = Mutex.create(name);
  t.teardown(() => {
    m.close();
    Mutex.unlink(name);
  });
  return m;
}

function mutexInMemory(t) {
  const name = uniqueName('h-mutex-mem');
  const shm = SharedMemory.create(name, 4096);
  const m = Mutex.init(shm, 64);
  t.teardown(() => {
    m.close();
    shm.close();
    SharedMemory.unlink(name);
  });
  return m;
}

for (const [how, make] of [
  ['named', namedMutex],
  ['in a SharedMemory', mutexInMemory],
]) {
  t.test(`Mutex ${how}: locked in the worker, seen held in main`, async (t) => {
    const m = make(t);
    const w = start(t, 'lock', m.handle());
    await expectSteps(t, w, ['opened', 'locked']);
    t.equal(m.tryLock(), false, 'held by the worker');
    w.worker.postMessage('unlock');
    await expectSteps(t, w, ['closed']);
    t.equal(m.tryLock(), true, 'free once the worker unlocked');
    m.unlock();
  });
}

for (const how of ['named', 'in a SharedMemory']) {
  t.test(`Semaphore ${how}: released in the worker, acquired in main`, async (t) => {
    const name = uniqueName('h-sem');
    let sem;
    if (how === 'named') {
      sem = Semaphore.create(name);
      t.teardown(() => {
        sem.close();
        Semaphore.unlink(name);
      });
    } else {
      const shm = SharedMemory.create(name, 4096);
      sem = Semaphore.init(shm, 8, 0);
      t.teardown(() => {
        shm.close();
        SharedMemory.unlink(name);
      });
    }
    const w = start(t, 'release', sem.handle());
    await within(sem.acquire(), 'the unit released in the worker');
    t.pass('acquired');
    await expectSteps(t, w, ['opened', 'closed']);
  });
}

t.test('posting the object itself is a DataCloneError naming handle()', async (t) => {
  const name = uniqueName('h-clone');
  const shm = SharedMemory.create(name, 4096);
  const ch = Channel.create(uniqueName('h-clone'), { capacity: 4096 });
  const q = MessageQueue.create(name, { maxMessages: 1, messageSize: 16 });
  const semName = uniqueName('h-clone');
  const sem = Semaphore.create(semName);
  const mutexName = uniqueName('h-clone');
  const mutex = Mutex.create(mutexName);
  const seg = SysVSharedMemory.create('private', 4096);
  const tx = ch.sender();
  const rx = ch.receiver();
  const reservation = tx.reserveSync(8);
  t.teardown(() => {
    reservation.cancel();
    for (const o of [shm, ch, q, sem, mutex, seg]) o.close();
    SharedMemory.unlink(name);
    Channel.unlink(ch.name);
    MessageQueue.unlink(name);
    Semaphore.unlink(semName);
    Mutex.unlink(mutexName);
    seg.unlink();
  });
  const objects = { SharedMemory: shm, Channel: ch, Sender: tx, Receiver: rx, MessageQueue: q, Semaphore: sem, Mutex: mutex, SysVSharedMemory: seg };
  const { port1, port2 } = new MessageChannel();
  t.teardown(() => port1.close());
  for (const [kind, obj] of Object.entries(objects)) {
    const refusal = { name: 'DataCloneError', message: `A podshm ${kind} cannot be cloned (postMessage, workerData, structuredClone): pass its handle() and call fromHandle() in the worker` };
    t.throws(() => port1.postMessage(obj), refusal, `${kind}: postMessage`);
    t.throws(() => port1.postMessage({ nested: [obj] }), refusal, `${kind}: nested in a message`);
    t.throws(() => structuredClone(obj), refusal, `${kind}: structuredClone`);
    t.throws(() => new Worker('0', { eval: true, workerData: obj }), refusal, `${kind}: workerData`);
    t.doesNotThrow(() => port1.postMessage(obj.handle()), `${kind}: its handle() posts`);
    t.same(structuredClone(obj.handle()), obj.handle(), `${kind}: its handle() clones whole`);
  }
  t.throws(() => structuredClone(new FutexWord(shm.mapping, 0)), { name: 'DataCloneError', message: /FutexWord cannot be cloned .*: post its memory's handle\(\)/ });
  t.throws(() => structuredClone(reservation), { name: 'DataCloneError', message: /Reservation cannot be cloned .*: commit or cancel it in the thread that reserved it/ });
  port2.close();
});

t.test('JSON.stringify and util.inspect show the fields, not the guard', async (t) => {
  const name = uniqueName('h-show');
  const shm = SharedMemory.create(name, 4096);
  t.teardown(() => {
    shm.close();
    SharedMemory.unlink(name);
  });
  const fields = { name: shm.name, path: shm.path, size: 4096, readOnly: false, fileId: shm.fileId };
  t.same(JSON.parse(JSON.stringify(shm)), fields);
  t.equal(inspect(shm), `SharedMemory ${inspect(fields)}`);
  t.same(JSON.parse(JSON.stringify({ shm })), { shm: fields }, 'nested too');
});

t.test('handle(): closed and unlinked objects', async (t) => {
  const name = uniqueName('h-gone');
  const shm = SharedMemory.create(name, 4096);
  const handle = shm.handle();
  shm.unlink();
  t.throws(() => shm.handle(), { code: 'ENOENT', message: /post its buffer \(a SharedArrayBuffer\)/ }, 'an unlinked object has no handle');
  t.throws(() => fromHandle(handle), { code: 'ENOENT' }, 'a handle of an object unlinked since');
  const again = SharedMemory.create(name, 4096);
  t.teardown(() => {
    again.close();
    SharedMemory.unlink(name);
  });
  t.throws(() => fromHandle(handle), { code: 'ENOENT', message: /names another object now/ }, 'the name names another file now');
  // What still works for memory whose name is gone: its SharedArrayBuffer, shared as is.
  const w = new Worker('require("worker_threads").parentPort.postMessage(new Uint8Array(require("worker_threads").workerData)[0])', { eval: true, workerData: shm.buffer });
  new Uint8Array(shm.buffer)[0] = 9;
  const [seen] = await within(new Promise((resolve) => w.once('message', (m) => resolve([m]))), 'the worker to read the buffer');
  t.equal(seen, 9);
  shm.close();
  t.throws(() => shm.handle(), { code: 'EBADF' }, 'a closed object has no handle');
});

t.test('a bad handle is an ArgumentError', async (t) => {
  const name = uniqueName('h-bad');
  const shm = SharedMemory.create(name, 4096);
  t.teardown(() => {
    shm.close();
    SharedMemory.unlink(name);
  });
  const good = shm.handle();
  for (const [bad, code, argument] of [
    [null, 'ERR_INVALID_ARG_TYPE', 'handle'],
    ['/name', 'ERR_INVALID_ARG_TYPE', 'handle'],
    [{}, 'ERR_INVALID_ARG_TYPE', 'handle'],
    [shm, 'ERR_INVALID_ARG_TYPE', 'handle'],
    [{ podshm: 'Pipe' }, 'ERR_OUT_OF_RANGE', 'handle.podshm'],
    [{ ...good, name: 5 }, 'ERR_INVALID_ARG_TYPE', 'handle.name'],
    [{ ...good, fileId: undefined }, 'ERR_INVALID_ARG_TYPE', 'handle.fileId'],
    [{ ...good, nmae: good.name }, 'ERR_UNKNOWN_OPTION', 'nmae'],
    [{ podshm: 'Mutex', memory: good, offset: 2 }, 'ERR_OUT_OF_RANGE', 'offset'],
    [{ podshm: 'Mutex', memory: { podshm: 'Pipe' }, offset: 0 }, 'ERR_OUT_OF_RANGE', 'handle.podshm'],
  ]) {
    t.throws(() => fromHandle(bad), ArgumentError, inspect(bad));
    t.throws(() => fromHandle(bad), { code, argument }, inspect(bad));
  }
});

t.test('fuzz: any value given to fromHandle() opens an object or throws a PodshmError', async (t) => {
  const { default: fc } = await import('fast-check');
  const { PodshmError } = await import('podshm');
  const name = uniqueName('h-fuzz');
  const shm = SharedMemory.create(name, 4096);
  const ch = Channel.create(uniqueName('h-fuzz'), { capacity: 4096 });
  t.teardown(() => {
    for (const o of [shm, ch]) o.close();
    SharedMemory.unlink(name);
    Channel.unlink(ch.name);
  });
  const good = [shm.handle(), ch.handle(), { ...ch.handle(), podshm: 'Sender' }, { ...ch.handle(), podshm: 'Receiver', producersGone: 'end' }, Mutex.init(shm, 0).handle(), Semaphore.init(shm, 8, 0).handle()];
  const any = fc.anything({ withBigInt: true, withNullPrototype: true, maxDepth: 2 });
  // Handles with some fields replaced by anything, some dropped, some added.
  const mangled = fc.tuple(fc.constantFrom(...good), fc.dictionary(fc.constantFrom('podshm', 'name', 'dir', 'fileId', 'readOnly', 'producersGone', 'memory', 'offset', 'id', 'extra'), any)).map(([h, changes]) => ({ ...h, ...changes }));
  const seed = process.env.PODSHM_FUZZ_SEED === undefined ? (Date.now() ^ (Math.random() * 2 ** 31)) | 0 : Number(process.env.PODSHM_FUZZ_SEED);
  t.comment(`fast-check seed ${seed} (PODSHM_FUZZ_SEED=${seed} repeats this run)`);
  fc.assert(
    fc.property(fc.oneof(any, mangled), (value) => {
      let result;
      try {
        result = fromHandle(value);
      } catch (err) {
        if (!(err instanceof PodshmError)) throw err;
        return;
      }
      result.close();
    }),
    { seed, numRuns: 500 },
  );
  t.pass('every outcome was an object or a PodshmError');
});

// The error contract, on errors real operations raise: every deliberate error is a
// PodshmError with a stable `code` and its class's `name`; system errors look like Node's
// fs errors (code, negative errno, syscall) plus the object; argument errors are
// ArgumentErrors with Node's codes (ERR_INVALID_ARG_TYPE, ERR_OUT_OF_RANGE) or
// ERR_UNKNOWN_OPTION; a channel peer that has gone is PeerGoneError ERR_PEER_GONE.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import t from 'tap';
import {
  AbortError, CapacityError, Channel, ChannelCorruptError, CorruptionError, MessageQueue, MqueueLimitError,
  ArgumentError, PeerGoneError, PodshmError, Semaphore, SharedMemory, SysVCapacityError, SystemError,
} from 'podshm';
import { uniqueName, within } from '../helpers.mjs';

const caught = (fn) => {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('did not throw');
};

t.test('the classes: one hierarchy under PodshmError', async (t) => {
  const parents = [
    [SystemError, PodshmError], [CapacityError, PodshmError], [SysVCapacityError, CapacityError],
    [MqueueLimitError, SystemError], [AbortError, PodshmError], [CorruptionError, PodshmError],
    [ChannelCorruptError, CorruptionError], [PeerGoneError, PodshmError], [PodshmError, Error],
  ];
  for (const [child, parent] of parents) t.equal(Object.getPrototypeOf(child), parent, `${child.name} extends ${parent.name}`);
});

t.test('SystemError: code, negative errno, syscall, the object, one message', async (t) => {
  const name = uniqueName('missing');
  const err = caught(() => SharedMemory.open(name));
  t.ok(err instanceof SystemError && err instanceof PodshmError && err instanceof Error);
  t.match(err, { name: 'SystemError', code: 'ENOENT', errno: -constants.errno.ENOENT });
  t.type(err.syscall, 'string');
  t.match(err.message, new RegExp(`^ENOENT: .*${name.slice(1)}`), err.message);
  const bad = caught(() => SharedMemory.create('a/b', 4096));
  t.match(bad, { name: 'SystemError', code: 'EINVAL' }, 'a bad name: checked before the call, shaped the same');
});

t.test('MqueueLimitError: a SystemError that names the limit', { skip: process.getuid?.() !== 0 && 'a new IPC namespace needs root' }, async (t) => {
  // In a new IPC namespace, where fs.mqueue.msgsize_max is the kernel default 8192.
  const script = `
    const { MessageQueue, MqueueLimitError, SystemError } = require('podshm');
    try { MessageQueue.create('/podshm-limit', { messageSize: 1 << 20 }); console.log('created'); }
    catch (e) { console.log(JSON.stringify({ mq: e instanceof MqueueLimitError, sys: e instanceof SystemError, name: e.name, code: e.code, limit: e.limit, requested: e.requested, allowed: e.allowed, syscall: e.syscall })); }`;
  const out = await new Promise((resolve) => {
    const child = spawn('unshare', ['--ipc', process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let s = '';
    child.stdout.on('data', (d) => (s += d));
    child.on('close', () => resolve(s));
  });
  t.same(JSON.parse(out), { mq: true, sys: true, name: 'MqueueLimitError', code: 'EINVAL', limit: 'msgsize_max', requested: 1 << 20, allowed: 8192, syscall: 'mq_open' });
});

t.test('PeerGoneError ERR_PEER_GONE: for a receiver whose producers went, and a sender whose consumer did', async (t) => {
  const ch = Channel.create(uniqueName('errpeer'), { capacity: 4096 });
  t.teardown(() => (ch.close(), ch.unlink()));
  const rx = ch.receiver({ producersGone: 'end' });
  // The producer is another process, SIGKILLed once it is attached.
  const child = spawn(process.execPath, ['-e', `const { Channel } = require('podshm'); Channel.open(${JSON.stringify(ch.name)}).sender(); console.log('attached'); setInterval(() => {}, 1000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => child.kill('SIGKILL'));
  await within(new Promise((resolve) => child.stdout.once('data', resolve)), 'the producer attaching');
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  const gone = caught(() => rx.receiveSync({ timeout: 30_000 }));
  t.ok(gone instanceof PeerGoneError && gone instanceof PodshmError);
  t.match(gone, { name: 'PeerGoneError', code: 'ERR_PEER_GONE', peer: 'producers', object: ch.name });
  t.match(gone.message, `channel '${ch.name}': `);

  const other = Channel.create(uniqueName('errpeer2'), { capacity: 4096 });
  t.teardown(() => (other.close(), other.unlink()));
  const tx = other.sender();
  other.receiver().close();
  const noConsumer = caught(() => {
    for (let i = 0; i < 100; i++) tx.sendSync(new Uint8Array(500), { timeout: 30_000 });
  });
  t.match(noConsumer, { name: 'PeerGoneError', code: 'ERR_PEER_GONE', peer: 'consumer', object: other.name });
});

t.test('AbortError ABORT_ERR with the reason as its cause; ETIMEDOUT is a SystemError', async (t) => {
  const shm = SharedMemory.create(uniqueName('errabort'), 4096);
  t.teardown(() => (shm.close(), shm.unlink()));
  const sem = Semaphore.init(shm, 0, 0);
  const reason = new Error('why');
  const err = await sem.acquire({ signal: AbortSignal.abort(reason) }).catch((e) => e);
  t.ok(err instanceof AbortError && err instanceof PodshmError);
  t.match(err, { name: 'AbortError', code: 'ABORT_ERR', message: 'The operation was aborted' });
  t.equal(err.cause, reason);
  const ch = Channel.create(uniqueName('errtimeout'), { capacity: 4096 });
  t.teardown(() => (ch.close(), ch.unlink()));
  const late = caught(() => ch.receiver().receiveSync({ timeout: 1 }));
  t.ok(late instanceof SystemError);
  t.match(late, { code: 'ETIMEDOUT', errno: -constants.errno.ETIMEDOUT });
});

t.test('CorruptionError ERR_PODSHM_CORRUPT with the offset and value of the bad word', async (t) => {
  const shm = SharedMemory.create(uniqueName('errcorrupt'), 4096);
  t.teardown(() => (shm.close(), shm.unlink()));
  const sem = Semaphore.init(shm, 8, 0);
  new Int32Array(shm.buffer)[2] = -5; // the semaphore's value word
  const err = caught(() => sem.tryAcquire());
  t.ok(err instanceof CorruptionError && err instanceof PodshmError);
  t.match(err, { name: 'CorruptionError', code: 'ERR_PODSHM_CORRUPT', offset: 8, value: -5 });

  const raw = SharedMemory.create(uniqueName('errchannel'), 8192);
  t.teardown(() => (raw.close(), raw.unlink()));
  new Int32Array(raw.buffer)[0] = 0x43485350; // a channel's magic, and nothing else of its header
  const bad = caught(() => Channel.open(raw.name));
  t.ok(bad instanceof ChannelCorruptError && bad instanceof CorruptionError);
  t.match(bad, { name: 'ChannelCorruptError', code: 'ERR_PODSHM_CORRUPT', object: raw.name });
  t.type(bad.offset, 'number');
});

t.test('argument errors are ArgumentErrors with Node\'s codes, thrown before anything is done', async (t) => {
  const name = uniqueName('errargs');
  const type = caught(() => Channel.create(name, { capacity: '4096' }));
  t.ok(type instanceof ArgumentError && type instanceof PodshmError);
  t.match(type, { name: 'ArgumentError', code: 'ERR_INVALID_ARG_TYPE', argument: 'capacity', message: /^The "capacity" argument must be .*\. Received "4096"$/ });
  const range = caught(() => Channel.create(name, { capacity: 1000 }));
  t.ok(range instanceof ArgumentError);
  t.match(range, { code: 'ERR_OUT_OF_RANGE', message: /^The "capacity" argument .*\. Received 1000$/ });
  const typo = caught(() => Channel.create(name, { capacty: 1 << 24 }));
  t.match(typo, { name: 'ArgumentError', code: 'ERR_UNKNOWN_OPTION', argument: 'capacty', message: 'Unknown option "capacty"; did you mean "capacity"?' }, 'a misspelled option is refused, not ignored');
  const far = caught(() => MessageQueue.open(name, { zzz: 1 }));
  t.match(far, { code: 'ERR_UNKNOWN_OPTION', message: /^Unknown option "zzz"; the options are "readOnly", / });
  t.throws(() => SharedMemory.open(name), { code: 'ENOENT' }, 'nothing was created');
  t.throws(() => MessageQueue.create(name, { maxMessages: -1 }), { code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => MessageQueue.open(name), { code: 'ENOENT' }, 'no queue either');
});

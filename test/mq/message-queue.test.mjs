import t from 'tap';
import { MessageQueue, SystemError } from 'podshm';
import { node, fixture, run, uniqueName, until, within } from '../helpers.mjs';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

// tap puts a loader in NODE_OPTIONS (even for children) that writes files another user may not.
const NO_TAP = ['env', '-u', 'NODE_OPTIONS'];

const lines = (stdout) => stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));

function queue(t, opts = {}) {
  const name = uniqueName('mq');
  const q = MessageQueue.create(name, { exclusive: true, maxMessages: 10, messageSize: 256, ...opts });
  t.teardown(() => {
    q.close();
    try {
      MessageQueue.unlink(name);
    } catch {}
  });
  return q;
}

/** Starts a fixture and resolves with its result; the caller may act while it runs. */
function start(args) {
  const child = spawn(process.execPath, [fixture('mq-peer.mjs'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const done = new Promise((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    }),
  );
  return { child, done };
}

t.test('another process sends; this one receives highest priority first, FIFO within a priority', async (t) => {
  const q = queue(t);
  const r = await node('mq-peer.mjs', ['send', q.name, '1:one', '5:five-a', '3:three', '5:five-b', '0:zero', '32767:top']);
  t.equal(r.code, 0, r.stderr);
  t.equal(q.attributes.currentMessages, 6);
  const got = [];
  for (let m = q.tryReceive(); m; m = q.tryReceive()) got.push([m.priority, Buffer.isBuffer(m.data) && m.data.toString()]);
  t.same(got, [[32767, 'top'], [5, 'five-a'], [5, 'five-b'], [3, 'three'], [1, 'one'], [0, 'zero']]);
});

t.test('this process sends; another receives with receive, in priority order', async (t) => {
  const q = queue(t);
  q.sendSync('low', { priority: 1 });
  q.sendSync(new Uint8Array([104, 105]), { priority: 7 });
  q.sendSync(Buffer.from('mid'), { priority: 4 });
  const r = await node('mq-peer.mjs', ['receive', q.name, '3']);
  t.equal(r.code, 0, r.stderr);
  t.same(lines(r.stdout), [
    { text: 'hi', priority: 7 },
    { text: 'mid', priority: 4 },
    { text: 'low', priority: 1 },
  ]);
});

t.test('timeouts: every wait that runs out is ETIMEDOUT, timeout 0 included; try* return null/false', async (t) => {
  const q = queue(t, { maxMessages: 1 });
  t.equal(q.tryReceive(), null);
  t.throws(() => q.receiveSync({ timeout: 0 }), { code: 'ETIMEDOUT', syscall: 'mq_timedreceive' });
  const err = t.throws(() => q.receiveSync({ timeout: 30 }), { code: 'ETIMEDOUT', syscall: 'mq_timedreceive', errno: -110 });
  t.ok(err instanceof SystemError);
  t.match(err.message, /no message within 30 ms/);
  await t.rejects(q.receive({ timeout: 20 }), { code: 'ETIMEDOUT' });
  await t.rejects(q.receive({ timeout: 0 }), { code: 'ETIMEDOUT' });
  t.equal(q.trySend('a'), true);
  t.equal(q.trySend('b'), false);
  t.throws(() => q.sendSync('b', { timeout: 0 }), { code: 'ETIMEDOUT', syscall: 'mq_timedsend' });
  t.throws(() => q.sendSync('b', { timeout: 30 }), { code: 'ETIMEDOUT', syscall: 'mq_timedsend' });
  await t.rejects(q.send('b', { timeout: 20 }), { code: 'ETIMEDOUT' });
  t.equal(q.receiveSync({ timeout: 1000 }).data.toString(), 'a', 'the timed-out sends added nothing');
  t.equal(q.tryReceive(), null);
});

t.test('a blocking receive with a timeout is served by a message sent while it waits', async (t) => {
  const q = queue(t);
  const { done } = start(['send', q.name, '2:late']);
  const m = q.receiveSync({ timeout: 15_000 });
  t.same([m.priority, m.data.toString()], [2, 'late']);
  t.equal((await done).code, 0);
});

// A thread blocked in receiveSync is woken by the message, never on a period (a main
// thread needs no slices: nothing but a signal could interrupt it). Its voluntary
// context switches over a window twenty times the 100 ms slice count every wake-up.
for (const [what, args] of [
  ['without a timeout', []],
  ['with a timeout', ['60000']],
]) {
  t.test(`a blocking receive ${what} sleeps until its message, without waking`, async (t) => {
    const q = queue(t);
    const { child, done } = start(['block-one', q.name, ...args]);
    await within(new Promise((resolve) => child.stdout.on('data', (d) => String(d).includes('ready') && resolve())), 'the peer to say it is ready');
    const switches = () => Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/task/${child.pid}/status`, 'utf8'))[1]);
    await new Promise((r) => setTimeout(r, 200));
    const before = switches();
    await new Promise((r) => setTimeout(r, 2_000));
    const woke = switches() - before;
    q.sendSync('wake up');
    const r = await done;
    t.equal(r.code, 0, r.stderr);
    t.same(lines(r.stdout).at(-1), { text: 'wake up' });
    t.ok(woke <= 2, `the blocked thread woke ${woke} times in the window`);
  });
}

t.test('receive does not block the event loop: a timer keeps firing while it waits', async (t) => {
  const q = queue(t);
  let ticks = 0;
  const timer = setInterval(() => {
    ticks++;
    // Send from another process only once the timer has proven the loop is free.
    if (ticks === 5) start(['send', q.name, '0:hello']);
  }, 10);
  t.teardown(() => clearInterval(timer));
  // The message exists only once the timer has fired 5 times: had receive held the
  // event loop, nothing would be sent and the guard would fail.
  const m = await within(q.receive(), 'the message sent after 5 timer ticks');
  t.equal(m.data.toString(), 'hello');
});

t.test('1000 awaited receives from another process while a timer keeps ticking', async (t) => {
  const q = queue(t);
  let received = 0;
  // The sender stops half way until told to go on, and only a timer callback tells it,
  // once the first half has arrived: the second half comes only if the event loop ran
  // the timer while a receive waited.
  const sender = spawn(process.execPath, [fixture('mq-peer.mjs'), 'send-many', q.name, '1000'], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.teardown(() => sender.kill('SIGKILL'));
  const done = new Promise((resolve) => sender.once('close', resolve));
  let toldAt = -1;
  const timer = setInterval(() => {
    if (received !== 500 || toldAt >= 0) return;
    toldAt = received;
    sender.stdin.end('go\n');
  }, 1);
  t.teardown(() => clearInterval(timer));
  const bad = [];
  for (let i = 0; i < 1000; i++) {
    const m = await within(q.receive(), `message ${i}`);
    if (m.data.toString() !== String(i)) bad.push([i, m.data.toString()]);
    received++;
  }
  clearInterval(timer);
  t.same(bad, [], 'every message, in order');
  t.equal(await done, 0, 'the sender went on and ended');
  t.equal(toldAt, 500, 'told to go on by the timer, with the first half received and the next receive waiting');
});

t.test('pending receive calls are served in the order they were made', async (t) => {
  const q = queue(t);
  const order = [];
  const calls = [0, 1, 2, 3, 4].map((i) => q.receive({ timeout: 15_000 }).then((m) => order.push([i, m.data.toString()])));
  const r = await node('mq-peer.mjs', ['send', q.name, '0:a', '0:b', '0:c', '0:d', '0:e']);
  t.equal(r.code, 0, r.stderr);
  await Promise.all(calls);
  t.same(order, [[0, 'a'], [1, 'b'], [2, 'c'], [3, 'd'], [4, 'e']]);
});

t.test('an AbortSignal cancels a pending receive without losing the next message', async (t) => {
  const q = queue(t);
  const ac = new AbortController();
  const first = q.receive({ signal: ac.signal });
  const second = q.receive({ timeout: 15_000 });
  const third = q.receive({ timeout: 50 });
  ac.abort();
  await t.rejects(first, { name: 'AbortError' });
  await t.rejects(third, { code: 'ETIMEDOUT' }, 'a timeout cancels the same way');
  const r = await node('mq-peer.mjs', ['send', q.name, '0:next']);
  t.equal(r.code, 0, r.stderr);
  t.equal((await second).data.toString(), 'next', 'the message went to the call still waiting');
  t.equal(q.attributes.currentMessages, 0);
  // A signal aborted before the call never touches the queue.
  q.sendSync('stays');
  await t.rejects(q.receive({ signal: AbortSignal.abort() }), { name: 'AbortError' });
  t.equal(q.attributes.currentMessages, 1);
  // A cancelled call that was the only one leaves nothing behind: this one gets the message.
  t.equal((await q.receive()).data.toString(), 'stays');

  // One signal for many calls: all of them cancel, with no listener-leak warning.
  const warnings = [];
  const onWarning = (w) => warnings.push(w.name);
  process.on('warning', onWarning);
  const shared = new AbortController();
  const many = Array.from({ length: 25 }, () => q.receive({ signal: shared.signal }).catch((e) => e.name));
  shared.abort();
  t.same(new Set(await Promise.all(many)), new Set(['AbortError']));
  await new Promise((r) => setImmediate(r));
  process.off('warning', onWarning);
  t.same(warnings, []);
  q.sendSync('after');
  t.equal(q.tryReceive().data.toString(), 'after', 'and none of them took a message');
});

t.test('send waits on a full queue (backpressure) and delivers in call order', async (t) => {
  const q = queue(t, { maxMessages: 2 });
  const settled = [];
  const sends = [0, 1, 2, 3, 4, 5].map((i) => {
    const data = Buffer.from(`m${i}`);
    const p = q.send(data).then(() => settled.push(i));
    data.fill(0); // the caller may reuse its buffer at once: a waiting send holds a copy
    return p;
  });
  await new Promise((r) => setTimeout(r, 50));
  t.same(settled, [0, 1], 'two fit, four wait');
  t.equal(q.attributes.currentMessages, 2);
  const r = await node('mq-peer.mjs', ['receive-sync', q.name, '6']);
  t.equal(r.code, 0, r.stderr);
  await Promise.all(sends);
  t.same(settled, [0, 1, 2, 3, 4, 5]);
  t.same(lines(r.stdout).map((m) => m.text), ['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
});

t.test('receiveInto fills a caller buffer; all three flavours', async (t) => {
  const q = queue(t, { messageSize: 64 });
  const buf = Buffer.alloc(64);
  q.sendSync('abc', { priority: 2 });
  t.same(q.receiveIntoSync(buf, { timeout: 100 }), { size: 3, priority: 2 });
  t.equal(buf.subarray(0, 3).toString(), 'abc');
  t.equal(q.tryReceiveInto(buf), null);
  const shared = new Uint8Array(new SharedArrayBuffer(128), 32, 64);
  const pending = q.receiveInto(shared);
  q.sendSync('xyz', { priority: 9 });
  t.same(await pending, { size: 3, priority: 9 });
  t.equal(Buffer.from(shared.subarray(0, 3)).toString(), 'xyz');
  t.throws(() => q.receiveIntoSync(Buffer.alloc(63)), { code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => q.receiveIntoSync(new Uint16Array(64)), { code: 'ERR_INVALID_ARG_TYPE' });
  await t.rejects(q.receiveInto(Buffer.alloc(1)), { code: 'ERR_OUT_OF_RANGE' });
});

t.test('for await yields messages until close(); close rejects pending calls with EBADF', async (t) => {
  const q = queue(t);
  q.sendSync('a');
  q.sendSync('b', { priority: 1 });
  const got = [];
  // 'c' is sent, and the queue closed, only once the loop has taken what came before: by
  // a timer, while the iterator waits.
  for await (const m of q) {
    got.push(m.data.toString());
    if (got.length === 2) setTimeout(() => q.sendSync('c'), 0);
    if (got.length === 3) setTimeout(() => q.close(), 0);
  }
  t.same(got, ['b', 'a', 'c']);
  t.equal(q.closed, true);
  t.throws(() => q.sendSync('x'), { code: 'EBADF', syscall: 'mq_send' });
  t.throws(() => q.tryReceive(), { code: 'EBADF' });
  t.throws(() => q.attributes, { code: 'EBADF', syscall: 'mq_getattr' });
  await t.rejects(q.receive(), { code: 'EBADF' });
  q.close();

  const q2 = queue(t);
  const pending = [q2.receive(), q2.receive()];
  q2[Symbol.dispose]();
  for (const p of pending) await t.rejects(p, { code: 'EBADF', message: /closed/ });
});

t.test('a pending receive keeps the process alive; with none pending it exits', async (t) => {
  const name = uniqueName('mq-alive');
  const q = MessageQueue.create(name);
  t.teardown(() => {
    q.close();
    MessageQueue.unlink(name);
  });
  const idle = await node('mq-peer.mjs', ['idle', name], { timeoutMs: 10_000 });
  t.equal(idle.signal, null, 'the idle process exited by itself');
  t.same(lines(idle.stdout), [{ cancelled: true }]);

  const name2 = uniqueName('mq-alive');
  t.teardown(() => {
    try {
      MessageQueue.unlink(name2);
    } catch {}
  });
  const { child, done } = start(['wait-one', name2]);
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const ended = () => child.exitCode !== null || child.signalCode !== null;
  await until(() => out.includes('"alive"') || ended(), "the child's unref'd timer");
  t.notOk(ended(), 'still running with only the receive pending');
  t.match(out, /"alive":true/, "its unref'd timer ran: only the pending receive held the loop");
  const peer = MessageQueue.open(name2);
  peer.sendSync('wake');
  peer.close();
  const r = await done;
  t.equal(r.code, 0, r.stderr);
  t.same(lines(r.stdout).at(-1), { text: 'wake' });
});

t.test('open, create, exclusive, readOnly/writeOnly and mode', async (t) => {
  const name = uniqueName('mq-open');
  t.throws(() => MessageQueue.open(name), { code: 'ENOENT', syscall: 'mq_open', name: 'SystemError' });
  const prev = process.umask(0o077);
  const a = MessageQueue.create(name, { maxMessages: 3, messageSize: 100, mode: 0o606 });
  process.umask(prev);
  t.teardown(() => {
    a.close();
    MessageQueue.unlink(name);
  });
  t.same(a.attributes, { maxMessages: 3, messageSize: 100, currentMessages: 0 });
  t.throws(() => MessageQueue.create(name), { code: 'EEXIST' }, 'create is exclusive by default');
  const b = MessageQueue.create(name, { maxMessages: 9, messageSize: 50, exclusive: false });
  t.equal(b.maxMessages, 3, 'create with exclusive: false opens the existing queue as it is');
  b.close();
  t.throws(() => MessageQueue.create(name, { messageSize: 200, exclusive: false }), { code: 'EINVAL', message: /smaller than the 200/ });

  const ro = MessageQueue.open(name, { readOnly: true });
  const wo = MessageQueue.open(name, { writeOnly: true });
  t.throws(() => ro.sendSync('x'), { code: 'EBADF', message: /readOnly/ });
  t.throws(() => wo.tryReceive(), { code: 'EBADF', message: /writeOnly/ });
  wo.sendSync('via wo');
  t.equal(ro.receiveSync().data.toString(), 'via wo');
  ro.close();
  wo.close();

  if (process.getuid() !== 0) return t.skip('checking the mode as another user needs root (setpriv)');
  // mode 0o606 exactly, despite the umask: another user may open it (and 0o600 would refuse).
  const other = await run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', ...NO_TAP, process.execPath, fixture('mq-peer.mjs'), 'open', name]);
  t.same(lines(other.stdout)[0].code, 'ok', other.stderr);
  const name2 = uniqueName('mq-private');
  MessageQueue.create(name2).close();
  const denied = await run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', ...NO_TAP, process.execPath, fixture('mq-peer.mjs'), 'open', name2]);
  MessageQueue.unlink(name2);
  t.same(lines(denied.stdout)[0].code, 'EACCES', 'the default mode is 0o600');
});

t.test('bad input gets a clear error and loses nothing', async (t) => {
  const q = queue(t, { messageSize: 8 });
  q.sendSync('keep');
  t.throws(() => MessageQueue.open(''), { code: 'EINVAL', syscall: 'mq_open' });
  t.throws(() => MessageQueue.open('/a/b'), { code: 'EINVAL' });
  t.throws(() => MessageQueue.open('x'.repeat(256)), { code: 'ENAMETOOLONG' });
  t.throws(() => MessageQueue.open(7), { code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => MessageQueue.unlink('/a/b'), { code: 'EINVAL', syscall: 'mq_unlink' });
  t.throws(() => MessageQueue.create(uniqueName('x'), { maxMessages: 0 }), { code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => MessageQueue.create(uniqueName('x'), { messageSize: 1.5 }), { code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => MessageQueue.create(uniqueName('x'), { mode: '600' }), { code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => MessageQueue.open(uniqueName('x'), { maxMessages: 5 }), { code: 'ERR_UNKNOWN_OPTION', message: /Unknown option "maxMessages"/ }, 'a create option is not an open option');
  t.throws(() => MessageQueue.open(q.name, { readOnly: true, writeOnly: true }), { code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => MessageQueue.open(q.name, null), { code: 'ERR_INVALID_ARG_TYPE' });

  const big = t.throws(() => q.sendSync('123456789'), { code: 'EMSGSIZE', syscall: 'mq_send' });
  t.match(big.message, /9 bytes is larger than the queue's messageSize of 8/);
  await t.rejects(q.send(Buffer.alloc(9)), { code: 'EMSGSIZE' });
  t.throws(() => q.sendSync(42), { code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => q.sendSync(null), { code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => q.sendSync('a', { priority: 32768 }), { code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => q.sendSync('a', { priority: -1 }), { code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => q.sendSync('a', { timeout: -1 }), { code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => q.receiveSync({ timeout: NaN }), { code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => q.receiveSync({ timeout: '5' }), { code: 'ERR_INVALID_ARG_TYPE' });
  await t.rejects(q.receive({ signal: {} }), { code: 'ERR_INVALID_ARG_TYPE' });
  await t.rejects(q.send('a', { priority: 1e9 }), { code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => q.trySend('a', 'b'), { code: 'ERR_INVALID_ARG_TYPE' });

  q.sendSync('');
  t.same(q.attributes.currentMessages, 2, 'nothing refused reached the queue');
  t.equal(q.receiveSync().data.toString(), 'keep');
  t.equal(q.receiveSync().data.length, 0, 'an empty message is a message');
  q.sendSync(Uint16Array.of(0x0201, 0x0403));
  t.same([...q.receiveSync().data], [1, 2, 3, 4], 'any ArrayBufferView is sent as its bytes');
});

import t from 'tap';
import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { createInterface } from 'node:readline';
import { SysVSharedMemory, SystemError } from 'podshm';
import { fixture, node } from '../helpers.mjs';

// Keys are machine-wide in the IPC namespace, and other runs share it: pick at random.
const uniqueKey = () => randomInt(1, 2 ** 31 - 1);
const pattern = (i) => (i * 31 + 7) & 0xff;
const isRoot = process.getuid?.() === 0;

function fill(seg) {
  const bytes = new Uint8Array(seg.buffer);
  for (let i = 4; i < bytes.length; i++) bytes[i] = pattern(i);
}

// Creates a segment that is removed and detached when the test ends, whatever happens.
function scratch(t, key, size, opts) {
  const seg = SysVSharedMemory.create(key, size, opts);
  t.teardown(() => {
    try {
      seg.unlink();
    } catch {
      // The test removed it itself.
    }
    seg.close();
  });
  return seg;
}

const json = (r) => {
  if (r.code !== 0) throw new Error(`child failed (${r.code} ${r.signal}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
};

/** A child that attaches and waits; `next()` reads its next stdout line, `say()` writes one. */
function holder(which) {
  const child = spawn(process.execPath, [fixture('sysv-peer.mjs'), 'hold', which], { stdio: ['pipe', 'pipe', 'inherit'] });
  const out = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return {
    next: async () => (await out.next()).value,
    say: (line) => child.stdin.write(line + '\n'),
    kill: (signal) => child.kill(signal),
    pid: child.pid,
    end: () => (child.stdin.end(), exited),
  };
}

t.test('a second process reads and answers through the same key', async (t) => {
  const key = uniqueKey();
  const size = 10_000; // not a page multiple: the buffer is exactly the segment
  const seg = scratch(t, key, size);
  t.ok(seg.buffer instanceof SharedArrayBuffer, 'buffer is a SharedArrayBuffer');
  t.equal(seg.buffer.byteLength, size);
  t.equal(seg.key, key);
  t.equal(seg.size, size);
  fill(seg);

  const r = json(await node('sysv-peer.mjs', ['check-and-answer', String(key)]));
  t.same(r, { ok: true, id: seg.id, key, size });
  t.equal(Atomics.load(new Uint32Array(seg.buffer), 0), 0xdeadbeef, 'the child wrote into the same memory');
  t.equal(seg.stat().lastPid !== process.pid, true, 'the kernel saw the child attach and detach');
});

t.test('a private segment is reached by id, from another process too', async (t) => {
  const seg = scratch(t, 'private', 8192);
  t.equal(seg.key, 0);
  fill(seg);
  const r = json(await node('sysv-peer.mjs', ['check-and-answer', `id:${seg.id}`]));
  t.equal(r.ok, true);
  t.equal(r.key, 0);
  t.equal(Atomics.load(new Uint32Array(seg.buffer), 0), 0xdeadbeef);
  t.throws(() => SysVSharedMemory.open('private'), { code: 'ERR_OUT_OF_RANGE' });
});

t.test('stat() reports the segment as the kernel sees it', async (t) => {
  const before = Math.floor(Date.now() / 1000) * 1000;
  const seg = scratch(t, uniqueKey(), 5000, { mode: 0o640 });
  const st = seg.stat();
  t.match(st, {
    key: seg.key,
    id: seg.id,
    size: 5000,
    attachCount: 1,
    mode: 0o640,
    removed: false,
    locked: false,
    uid: process.getuid(),
    gid: process.getgid(),
    cuid: process.getuid(),
    creatorPid: process.pid,
    lastPid: process.pid,
    dtime: null,
  });
  t.ok(st.ctime instanceof Date && st.ctime.getTime() >= before, 'ctime is now');
  t.ok(st.atime instanceof Date, 'atime is set by the attach');

  const other = SysVSharedMemory.open(seg.key);
  t.equal(seg.stat().attachCount, 2, 'a second attach in this process counts');
  other.close();
  t.equal(seg.stat().attachCount, 1);
  t.ok(seg.stat().dtime instanceof Date);
});

t.test('detach() under live views: attach dropped, views read zeros, nothing crashes', async (t) => {
  const seg = scratch(t, uniqueKey(), 3 * 4096);
  fill(seg);
  const view = new Uint8Array(SysVSharedMemory.open(seg.key).buffer);
  const other = SysVSharedMemory.open(seg.key);
  const otherView = new Uint8Array(other.buffer);
  t.equal(seg.stat().attachCount, 3);
  other.close();
  t.equal(other.closed, true);
  t.equal(seg.stat().attachCount, 2, 'the kernel counts one attach fewer at once');
  t.equal(otherView[100], 0, 'a stale view reads zeros');
  otherView[100] = 42; // lands in private memory
  t.equal(new Uint8Array(seg.buffer)[100], pattern(100), 'and its writes never reach the segment');
  other.close(); // twice is fine
  other.close();
  t.equal(view[100], pattern(100), 'other attaches are untouched');
  t.equal(seg.stat().attachCount, 2);
});

t.test('Symbol.dispose detaches but does not remove', async (t) => {
  const seg = scratch(t, uniqueKey(), 4096);
  const other = SysVSharedMemory.open(seg.key);
  other[Symbol.dispose]();
  t.equal(other.closed, true);
  t.equal(seg.stat().attachCount, 1);
  t.equal(seg.stat().removed, false);
  t.equal(SysVSharedMemory.open(seg.key).id, seg.id, 'still there by key');
});

t.test('IPC_RMID while attached: the segment lives until the last detach', async (t) => {
  const key = uniqueKey();
  const seg = scratch(t, key, 4096);
  const child = holder(String(key));
  t.equal(await child.next(), 'ready');
  t.equal(seg.stat().attachCount, 2, 'the child is attached');
  const listed = SysVSharedMemory.list().find((s) => s.id === seg.id);
  t.match(listed, { key, size: 4096, attachCount: 2, removed: false }, 'list() shows it with its attach count');
  t.ok(listed.rss >= 4096, 'pages are resident (pre-faulted)');

  seg.unlink();
  t.match(seg.stat(), { removed: true, key: 0, attachCount: 2 }, 'marked for removal, key released');
  t.throws(() => SysVSharedMemory.open(key), { code: 'ENOENT' }, 'no longer found by key');
  const late = SysVSharedMemory.open({ id: seg.id });
  t.equal(seg.stat().attachCount, 3, 'but still attachable by id (Linux allows it)');
  late.close();
  const reused = SysVSharedMemory.create(key, 4096);
  t.not(reused.id, seg.id, 'the key can make a new segment at once');
  reused.unlink();
  reused.close();

  Atomics.store(new Uint32Array(seg.buffer), 0, 0x600d);
  seg.close();
  t.match(SysVSharedMemory.list().find((s) => s.id === seg.id), { attachCount: 1, removed: true }, 'alive with one attach');
  child.say('read');
  t.same(JSON.parse(await child.next()), { first: 0x600d }, 'the child still reads it after removal');
  t.equal(await child.next(), 'detached');
  t.notOk(SysVSharedMemory.list().some((s) => s.id === seg.id), 'gone after the last detach');
  t.throws(() => seg.stat(), { code: 'ENOENT', syscall: 'shmctl' });
  t.throws(() => seg.unlink(), { code: 'ENOENT' });
  t.same(await child.end(), { code: 0, signal: null });
});

t.test('EEXIST, ENOENT and EINVAL, like the kernel', async (t) => {
  const key = uniqueKey();
  const seg = scratch(t, key, 8192);
  const eexist = t.throws(() => SysVSharedMemory.create(key, 8192));
  t.ok(eexist instanceof SystemError);
  t.match(eexist, { code: 'EEXIST', errno: -17, syscall: 'shmget', object: `shm key 0x${key.toString(16).padStart(8, '0')}` });

  const same = SysVSharedMemory.create(key, 4096, { exclusive: false });
  t.equal(same.id, seg.id, 'exclusive: false opens the existing segment');
  t.equal(same.size, 8192, 'with its full size');
  same.close();

  t.throws(() => SysVSharedMemory.open(uniqueKey()), { code: 'ENOENT', syscall: 'shmget' });
  t.throws(() => SysVSharedMemory.open({ id: 2 ** 31 - 1 }), { code: 'ENOENT', syscall: 'shmctl' });
  t.throws(() => SysVSharedMemory.unlink(uniqueKey()), { code: 'ENOENT' });

  t.throws(() => SysVSharedMemory.open(key, { size: 8193 }), {
    code: 'EINVAL',
    syscall: 'shmget',
    message: /exists with 8192 bytes, fewer than the 8193/,
  });
  t.throws(() => SysVSharedMemory.create(key, 10_000, { exclusive: false }), { code: 'EINVAL' });
  t.throws(() => SysVSharedMemory.open({ id: seg.id }, { size: 8193 }), { code: 'EINVAL' });
  t.equal(SysVSharedMemory.open(key, { size: 8192 }).size, 8192, 'exactly the size is fine');
});

t.test('static remove() by key and by id', async (t) => {
  const a = scratch(t, uniqueKey(), 4096);
  const b = scratch(t, 'private', 4096);
  SysVSharedMemory.unlink(a.key);
  SysVSharedMemory.unlink({ id: b.id });
  t.equal(a.stat().removed, true);
  t.equal(b.stat().removed, true);
});

t.test('setPermissions() is IPC_SET', async (t) => {
  const seg = scratch(t, uniqueKey(), 4096);
  seg.setPermissions({ mode: 0o644 });
  t.match(seg.stat(), { mode: 0o644, uid: process.getuid() });
  if (isRoot) {
    seg.setPermissions({ uid: 65534, gid: 65534 });
    t.match(seg.stat(), { mode: 0o644, uid: 65534, gid: 65534, cuid: 0 });
  }
  t.throws(() => seg.setPermissions({ mode: 0o1000 }), { code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => seg.setPermissions(null), { code: 'ERR_INVALID_ARG_TYPE' });
});

t.test('EACCES for another user, unless the mode lets them in', { skip: !isRoot && 'needs root to run a child as another user' }, async (t) => {
  const closed = scratch(t, uniqueKey(), 4096); // default mode 0600
  const open = scratch(t, uniqueKey(), 4096, { mode: 0o666 });
  Atomics.store(new Uint32Array(open.buffer), 0, 1234);
  const asNobody = (...which) =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [fixture('sysv-peer.mjs'), 'try-open', ...which], {
        uid: 65534,
        gid: 65534,
        cwd: '/',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => resolve(json({ code, stdout, stderr })));
    });
  const { results } = await asNobody(String(closed.key), `id:${closed.id}`, String(open.key));
  t.match(results[0], { ok: false, name: 'SystemError', code: 'EACCES', syscall: 'shmget' }, 'by key');
  t.match(results[1], { ok: false, code: 'EACCES', syscall: 'shmctl' }, 'by id');
  t.match(results[2], { ok: true, id: open.id, first: 1234 }, 'a 0666 segment opens');
  t.equal(closed.stat().attachCount, 1, 'the refused user never attached');
});

t.test('keys: both spellings of a 32-bit key name one segment', async (t) => {
  const unsigned = 0x80000000 + randomInt(1, 2 ** 30);
  const seg = scratch(t, unsigned, 4096);
  t.equal(seg.key, unsigned | 0, 'keys are reported as the signed key_t');
  t.equal(SysVSharedMemory.open(unsigned | 0).id, seg.id);
  t.equal(SysVSharedMemory.list().find((s) => s.id === seg.id)?.key, unsigned | 0, 'as /proc/sysvipc/shm prints it');
});

t.test('bad input is refused before any system call', async (t) => {
  const range = { code: 'ERR_OUT_OF_RANGE' };
  const type = { code: 'ERR_INVALID_ARG_TYPE' };
  for (const key of [0, 1.5, 2 ** 32, -(2 ** 31) - 1, NaN, Infinity]) {
    t.throws(() => SysVSharedMemory.create(key, 4096), range, `key ${key}`);
    t.throws(() => SysVSharedMemory.open(key), range, `open key ${key}`);
  }
  for (const key of ['1', 'PRIVATE', null, undefined, 10n, [], true]) {
    t.throws(() => SysVSharedMemory.create(key, 4096), type, `key ${String(key)}`);
  }
  const key = uniqueKey();
  for (const size of [0, -1, 1.5, 2 ** 53, NaN]) t.throws(() => SysVSharedMemory.create(key, size), range, `size ${size}`);
  for (const size of ['4096', null, undefined, 4096n]) t.throws(() => SysVSharedMemory.create(key, size), type, `size ${String(size)}`);
  for (const mode of [-1, 0o1000, 0o4600, 1.5]) t.throws(() => SysVSharedMemory.create(key, 4096, { mode }), range, `mode ${mode}`);
  t.throws(() => SysVSharedMemory.create(key, 4096, { mode: '600' }), type);
  t.throws(() => SysVSharedMemory.create(key, 4096, { exclusive: 'no' }), type);
  t.throws(() => SysVSharedMemory.create(key, 4096, 'opts'), type);
  for (const id of [-1, 2 ** 31, 1.5]) t.throws(() => SysVSharedMemory.open({ id }), range, `id ${id}`);
  for (const id of ['1', undefined, null]) t.throws(() => SysVSharedMemory.open({ id }), type, `id ${String(id)}`);
  t.throws(() => SysVSharedMemory.open(key, { size: -1 }), range);
  t.throws(() => SysVSharedMemory.open(key, { size: '1' }), type);
  t.notOk(SysVSharedMemory.list().some((s) => s.key === key), 'nothing was created along the way');
});

t.test('a peer killed while attached is detached by the kernel', async (t) => {
  const seg = scratch(t, uniqueKey(), 4096);
  const child = holder(String(seg.key));
  t.equal(await child.next(), 'ready');
  t.equal(seg.stat().attachCount, 2);
  child.kill('SIGKILL');
  t.match(await child.end(), { signal: 'SIGKILL' });
  t.equal(seg.stat().attachCount, 1, 'its attach went with it');
  t.equal(seg.stat().lastPid, child.pid);
});

t.test('the buffer is shared with worker threads without a copy', async (t) => {
  const { Worker } = await import('node:worker_threads');
  const seg = scratch(t, 'private', 4096);
  const worker = new Worker('const { workerData } = require("node:worker_threads"); Atomics.store(new Int32Array(workerData), 1, 99);', {
    eval: true,
    workerData: seg.buffer,
  });
  await new Promise((resolve, reject) => worker.on('exit', resolve).on('error', reject));
  t.equal(Atomics.load(new Int32Array(seg.buffer), 1), 99);
  t.equal(seg.stat().attachCount, 1, 'still one attach: the worker shares this process mapping');
});

t.test('the raw binding refuses foreign handles instead of crashing', async (t) => {
  const { rawBinding: _native } = await import('../helpers.mjs');
  t.throws(() => _native.sysv.populate({}), TypeError);
  t.throws(() => _native.sysv.attach('1'), TypeError);
  t.throws(() => _native.sysv.get(1, -1, 0), RangeError);
});

t.test('an attach that is garbage-collected without detach() is detached', async (t) => {
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', fixture('sysv-peer.mjs'), 'gc']);
  t.same(JSON.parse(stdout), { before: 2, after: 1 });
});

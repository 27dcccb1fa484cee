import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { SharedMemory, SystemError } from 'podshm';
import { node, uniqueName } from '../helpers.mjs';

const isRoot = process.getuid?.() === 0;

t.test('EEXIST for an exclusive create of an existing name; exclusive: false opens it', async (t) => {
  const name = uniqueName('eexist');
  const a = SharedMemory.create(name, 8192);
  t.teardown(() => SharedMemory.unlink(name));
  const err = t.throws(() => SharedMemory.create(name, 8192));
  t.ok(err instanceof SystemError);
  t.match(err, { code: 'EEXIST', syscall: 'linkat', object: name });
  new Uint8Array(a.buffer)[5] = 42;
  const b = SharedMemory.create(name, 4096, { exclusive: false });
  t.equal(b.size, 8192, 'an existing object keeps its size');
  t.equal(new Uint8Array(b.buffer)[5], 42, 'and its contents');
  t.throws(() => SharedMemory.create(name, 1 << 20, { exclusive: false }), { code: 'EINVAL' }, 'smaller than asked is refused');
  const c = SharedMemory.create(uniqueName('nonexcl'), 4096, { exclusive: false });
  t.equal(c.size, 4096, 'exclusive: false creates when the name is free');
  c.unlink();
});

t.test('ENOENT on open and unlink of a missing name', async (t) => {
  const name = uniqueName('enoent');
  t.throws(() => SharedMemory.open(name), { code: 'ENOENT', errno: -2, object: name });
  t.throws(() => SharedMemory.unlink(name), { code: 'ENOENT', syscall: 'unlink' });
});

t.test('another user cannot open an object made with mode 0600', { skip: !isRoot && 'needs root to run a child as another user' }, async (t) => {
  const name = uniqueName('eacces');
  const shm = SharedMemory.create(name, 4096, { mode: 0o600 });
  t.teardown(() => shm.unlink());
  t.equal(fs.statSync(shm.path).mode & 0o777, 0o600, 'mode is applied exactly');
  const r = await node('shm-peer.mjs', ['open', name], { uid: 65534, gid: 65534 });
  t.equal(r.code, 0, r.stderr);
  t.same(JSON.parse(r.stdout), { ok: false, code: 'EACCES', syscall: 'open', name: 'SystemError' });

  const shared = SharedMemory.create(uniqueName('eacces-ok'), 4096, { mode: 0o666 });
  t.teardown(() => shared.unlink());
  const ok = await node('shm-peer.mjs', ['open', shared.name], { uid: 65534, gid: 65534 });
  t.same(JSON.parse(ok.stdout), { ok: true, size: 4096 }, 'mode 0666 shares it on purpose');
});

t.test('invalid options are refused before any system call', async (t) => {
  const name = uniqueName('opts');
  t.throws(() => SharedMemory.create(name, 4096, { mode: 0o10000 }), { code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => SharedMemory.create(name, 4096, { mode: '600' }), { code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => SharedMemory.create(name, 4096, { exclusive: 1 }), { code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => SharedMemory.create(name, 4096, null), { code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => SharedMemory.create(name, -1), { code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => SharedMemory.create(name, 2 ** 60), { code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => SharedMemory.create(name, NaN), { code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => SharedMemory.open(name, { readOnly: 'yes' }), { code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => SharedMemory.open(name, { dir: 7 }), { code: 'ERR_INVALID_ARG_TYPE' });
  // A NUL would end the path early in the kernel: /tmp/x\0y would act on /tmp/x.
  const victim = fs.mkdtempSync('/tmp/podshm-nul-');
  t.teardown(() => fs.rmSync(victim, { recursive: true, force: true }));
  for (const call of [() => SharedMemory.unlink(name, { dir: `${victim}\0` }), () => SharedMemory.open(name, { dir: `${victim}\0x` }), () => SharedMemory.create(name, 4096, { dir: `${victim}\0` })]) {
    t.throws(call, { code: 'ERR_OUT_OF_RANGE', message: /NUL/ });
  }
  t.ok(fs.existsSync(victim), 'the directory named before the NUL is untouched');
  t.throws(() => SharedMemory.open('/a\0b'), { code: 'EINVAL' });
  t.throws(() => SharedMemory.open('..'), { code: 'EINVAL' });
  t.notOk(fs.existsSync(path.join('/dev/shm', name.slice(1))), 'nothing was created');
});

t.test('hostile entries under the name: a FIFO does not hang open, an empty file is refused', async (t) => {
  const fifo = uniqueName('fifo');
  const fifoPath = path.join('/dev/shm', fifo.slice(1));
  await import('node:child_process').then(({ execFileSync }) => execFileSync('mkfifo', [fifoPath]));
  t.teardown(() => fs.rmSync(fifoPath, { force: true }));
  t.throws(() => SharedMemory.open(fifo), { code: 'EINVAL', message: /not a regular file/ });

  const empty = uniqueName('empty');
  fs.writeFileSync(path.join('/dev/shm', empty.slice(1)), '');
  t.teardown(() => SharedMemory.unlink(empty));
  t.throws(() => SharedMemory.open(empty), { code: 'EINVAL', message: /empty/ });

  const link = uniqueName('symlink');
  fs.symlinkSync('/etc/hostname', path.join('/dev/shm', link.slice(1)));
  t.teardown(() => SharedMemory.unlink(link));
  t.throws(() => SharedMemory.open(link), { code: 'ELOOP' }, 'symlinks are not followed');
});

t.test('a non-memory directory works too, without memory capacity checks', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podshm-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const shm = SharedMemory.create('disk', 65536, { dir });
  t.equal(shm.path, path.join(dir, 'disk'));
  new Uint8Array(shm.buffer)[100] = 9;
  const peer = SharedMemory.open('/disk', { dir });
  t.equal(new Uint8Array(peer.buffer)[100], 9);
  peer.close();
  shm.close();
  SharedMemory.unlink('disk', { dir });
  t.notOk(fs.existsSync(path.join(dir, 'disk')));
});

t.test('the raw binding refuses numbers that would turn into other numbers', async (t) => {
  const { rawBinding } = await import('../helpers.mjs');
  t.throws(() => rawBinding.fd.close(2 ** 32 + 1), RangeError, '2**32 + 1 is not fd 1');
  t.throws(() => rawBinding.fd.close(-1), RangeError);
  t.throws(() => rawBinding.fd.close(1.5), RangeError);
  t.throws(() => rawBinding.fd.stat(NaN), RangeError);
  t.throws(() => rawBinding.shm.allocate(0, Infinity), RangeError);
  t.throws(() => rawBinding.mq.receive(0, new Uint8Array(8), NaN), RangeError, 'a NaN timeout does not mean for ever');
  process.stdout.write('# stdout still open\n');
});

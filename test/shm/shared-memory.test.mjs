import t from 'tap';
import { SharedMemory, SystemError } from 'podshm';
import { node, uniqueName } from '../helpers.mjs';

t.test('a second process reads what the first wrote, through a real SharedArrayBuffer', async (t) => {
  const name = uniqueName('xproc');
  const shm = SharedMemory.create(name, 1 << 20);
  t.teardown(() => shm.unlink());
  t.ok(shm.buffer instanceof SharedArrayBuffer, 'buffer is a SharedArrayBuffer');
  t.equal(shm.buffer.byteLength, 1 << 20);
  const bytes = new Uint8Array(shm.buffer);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31) & 0xff;

  const r = await node('shm-peer.mjs', ['check-and-answer', name]);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout.trim(), 'ok');
  t.equal(new Uint32Array(shm.buffer)[0], 0xdeadbeef, 'the child wrote back into the same memory');
});

t.test('names are validated before any system call', async (t) => {
  t.throws(() => SharedMemory.create('', 10), { code: 'EINVAL', syscall: 'shm_open' });
  t.throws(() => SharedMemory.create('/a/b', 10), { code: 'EINVAL' });
  t.throws(() => SharedMemory.create('x'.repeat(256), 10), { code: 'ENAMETOOLONG', name: 'SystemError' });
  t.throws(() => SharedMemory.create(42, 10), { code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => SharedMemory.create(uniqueName('size'), 0), { code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => SharedMemory.create(uniqueName('size'), 1.5), { code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => SharedMemory.create(uniqueName('size'), '10'), { code: 'ERR_INVALID_ARG_TYPE' });
  const err = t.throws(() => SharedMemory.open(uniqueName('missing')));
  t.ok(err instanceof SystemError);
  t.match(err, { code: 'ENOENT', errno: -2, syscall: 'open' });
});

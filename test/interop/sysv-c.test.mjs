// A C program written against the classic API (ftok, shmget, shmat) and a Node
// process exchange data through one segment, in both directions.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { SysVCapacityError, SysVSharedMemory, ftok } from 'podshm';
import { fixture } from '../helpers.mjs';

// execFile rather than helpers' run(): these programs never read stdin, and a write
// to a stdin that is already gone raises EPIPE.
const exec = promisify(execFile);

const pattern = (i) => (i * 31 + 7) & 0xff;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podshm-sysv-c-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const program = path.join(dir, 'sysv-peer');
const built = await exec('cc', ['-O2', '-Wall', '-o', program, fixture('sysv-peer.c')]).then(
  () => null,
  (err) => err.stderr?.trim() || err.message,
);
if (built !== null) {
  t.plan(0, `cannot build the C peer: ${built}`);
  process.exit(0);
}
// ftok needs an existing file; a fresh one gives keys no other run uses.
const keyFile = path.join(dir, 'key');
fs.writeFileSync(keyFile, '');

async function c(...args) {
  const { stdout } = await exec(program, args.map(String), { timeout: 30_000 });
  return stdout.trim();
}

// Whatever a test leaves behind.
function removeKey(key) {
  try {
    SysVSharedMemory.unlink(key);
  } catch {
    // Already removed.
  }
}

t.test('ftok() gives the key the C library gives', async (t) => {
  for (const proj of [1, 65, 127, 128, 255]) {
    t.equal(ftok(keyFile, proj), Number(await c('key', keyFile, proj)), `projId ${proj}`);
  }
  t.ok(ftok(keyFile, 200) < 0, 'a projId of 128 or more makes a negative key_t, as in C');
  t.throws(() => ftok(path.join(dir, 'missing'), 1), { code: 'ENOENT', syscall: 'ftok' });
  for (const proj of [0, 256, 1.5, -1]) t.throws(() => ftok(keyFile, proj), { code: 'ERR_OUT_OF_RANGE' }, `projId ${proj}`);
  t.throws(() => ftok(keyFile, '1'), { code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => ftok(42, 1), { code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => ftok('', 1), { code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => ftok('/tmp\0x', 1), { code: 'ERR_OUT_OF_RANGE' });
});

t.test('C creates and writes, Node reads and answers, C reads the answer', async (t) => {
  const proj = 11;
  const key = ftok(keyFile, proj);
  t.teardown(() => removeKey(key));
  const size = 3 * 4096 + 123;
  const id = Number(await c('create', keyFile, proj, size));

  const seg = SysVSharedMemory.open(ftok(keyFile, proj));
  t.equal(seg.id, id, 'the same segment');
  t.equal(seg.size, size);
  const bytes = new Uint8Array(seg.buffer);
  let bad = -1;
  for (let i = 4; i < size && bad < 0; i++) if (bytes[i] !== pattern(i)) bad = i;
  t.equal(bad, -1, 'every byte C wrote is there');
  Atomics.store(new Uint32Array(seg.buffer, 0, 1), 0, 0xdeadbeef);
  seg.close();

  t.equal(await c('check', keyFile, proj), `${0xdeadbeef} ${size}`, 'C reads what Node wrote');
  await c('remove', keyFile, proj);
  t.throws(() => SysVSharedMemory.open(key), { code: 'ENOENT' }, 'C removed it');
});

t.test('Node creates and writes, C reads and answers, Node reads the answer', async (t) => {
  const proj = 22;
  const seg = SysVSharedMemory.create(ftok(keyFile, proj), 64 * 1024);
  t.teardown(() => {
    removeKey(seg.key);
    seg.close();
  });
  const bytes = new Uint8Array(seg.buffer);
  for (let i = 4; i < bytes.length; i++) bytes[i] = pattern(i);
  Atomics.store(new Uint32Array(seg.buffer), 0, 77);

  t.equal(await c('check', keyFile, proj), `77 ${64 * 1024}`, 'C sees the pattern and the first word');
  t.equal(Atomics.load(new Uint32Array(seg.buffer), 0), 0xc0de, 'Node sees the answer in its live view');
  t.equal(seg.stat().attachCount, 1, 'C detached');
  t.not(seg.stat().lastPid, process.pid, 'the last attach was the C program');
});

t.test("open() faults in a C program's untouched segment, charging this process", async (t) => {
  const proj = 33;
  const key = ftok(keyFile, proj);
  t.teardown(() => removeKey(key));
  const id = Number(await c('sparse', keyFile, proj, 4 << 20));
  const rss = () => SysVSharedMemory.list().find((s) => s.id === id).rss;
  t.equal(rss(), 0, 'nothing is in memory yet');
  const seg = SysVSharedMemory.open(key);
  t.equal(rss(), 4 << 20, 'every page is in memory after open()');
  seg.close();
});

// A segment whose pages do not exist: huge pages with no reservation and none free.
// Touching it kills with SIGBUS; open() must refuse it instead.
const hugePagesFree = Number(/^HugePages_Free:\s+(\d+)/m.exec(fs.readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? -1);
const hugeOvercommit = Number(fs.readFileSync('/proc/sys/vm/nr_overcommit_hugepages', 'utf8'));
t.test(
  'a segment that would SIGBUS on first touch is refused by open(), and this process lives',
  { skip: (hugePagesFree !== 0 || hugeOvercommit !== 0) && 'needs a machine with no free huge pages' },
  async (t) => {
    const proj = 44;
    const key = ftok(keyFile, proj);
    t.teardown(() => removeKey(key));
    const made = await c('hugetlb-noreserve', keyFile, proj).catch((err) => err);
    if (made instanceof Error) return t.skip(`the kernel refused SHM_HUGETLB | SHM_NORESERVE: ${made.stderr?.trim()}`);
    const err = t.throws(() => SysVSharedMemory.open(key));
    t.ok(err instanceof SysVCapacityError, 'a SysVCapacityError');
    t.match(err, { code: 'ENOSPC', limit: 'memory', message: /Cannot attach System V segment 0x.*SHM_NORESERVE.*SIGBUS/ });
    t.equal(SysVSharedMemory.list().find((s) => s.key === key)?.attachCount, 0, 'the failed attach was undone');
  },
);

import t from 'tap';
import { Worker } from 'node:worker_threads';
import { SharedMemory, backend } from 'podshm';
import { fixture, run, uniqueName } from '../helpers.mjs';

t.test('the buffer is a real SharedArrayBuffer that worker_threads share without copying', async (t) => {
  t.match(backend, /^(node-api|v8)$/);
  const shm = SharedMemory.create(uniqueName('worker'), 4096);
  t.teardown(() => shm.unlink());
  t.ok(shm.buffer instanceof SharedArrayBuffer);
  t.equal(Object.prototype.toString.call(shm.buffer), '[object SharedArrayBuffer]');
  const words = new Int32Array(shm.buffer);
  const worker = new Worker(
    `const { workerData } = require('node:worker_threads');
     const w = new Int32Array(workerData);
     Atomics.store(w, 1, w[0] * 2);
     Atomics.notify(w, 1);`,
    { eval: true, workerData: shm.buffer },
  );
  words[0] = 21;
  await new Promise((resolve, reject) => worker.on('exit', resolve).on('error', reject));
  t.equal(Atomics.load(words, 1), 42, 'the worker wrote into the mapping itself');
  // The other process sees it too: the worker wrote the shared object, not a copy.
  const peer = SharedMemory.open(shm.name);
  t.equal(new Int32Array(peer.buffer)[1], 42);
  peer.close();
});

t.test('reading and writing views after close() never crashes; they are cut off from the object', async (t) => {
  const shm = SharedMemory.create(uniqueName('closed'), 1 << 16);
  t.teardown(() => shm.unlink());
  const view = new Uint8Array(shm.buffer);
  view[10] = 77;
  shm.close();
  shm.close();
  t.ok(shm.closed);
  t.equal(view[10], 0, 'a stale view reads zeros');
  view[10] = 5;
  t.equal(view[10], 5, 'and writes only private memory');
  const peer = SharedMemory.open(shm.name);
  t.equal(new Uint8Array(peer.buffer)[10], 77, 'the object kept what was written before close');
  peer.close();
});

t.test('readOnly maps a private view: local writes never reach the object and never fault', async (t) => {
  const shm = SharedMemory.create(uniqueName('ro'), 8192);
  t.teardown(() => shm.unlink());
  new Uint8Array(shm.buffer)[0] = 1;
  const ro = SharedMemory.open(shm.name, { readOnly: true });
  t.ok(ro.readOnly);
  const view = new Uint8Array(ro.buffer);
  t.equal(view[0], 1);
  new Uint8Array(shm.buffer)[4096] = 2;
  t.equal(view[4096], 2, 'an untouched page follows the object');
  view[0] = 99;
  t.equal(new Uint8Array(shm.buffer)[0], 1, 'the write stayed private');
  ro.close();
});

t.test('Symbol.dispose closes', async (t) => {
  const name = uniqueName('dispose');
  let view;
  {
    const shm = SharedMemory.create(name, 4096);
    view = new Uint8Array(shm.buffer);
    view[0] = 3;
    shm[Symbol.dispose]();
    t.ok(shm.closed);
  }
  t.equal(view[0], 0);
  SharedMemory.unlink(name);
});

t.test('the mapping is released once the buffer is collected, not before', async (t) => {
  const name = uniqueName('gc');
  const shm = SharedMemory.create(name, 1 << 20);
  t.teardown(() => shm.unlink());
  // A child maps the object twice, keeps a view of one, drops everything of the
  // other, and reads /proc/self/maps after GC.
  const script = `
    const { SharedMemory } = require('podshm');
    const fs = require('node:fs');
    const count = () => fs.readFileSync('/proc/self/maps', 'utf8').split(${JSON.stringify(name.slice(1))}).length - 1;
    const kept = new Uint8Array(SharedMemory.open(${JSON.stringify(name)}).buffer);
    let dropped = SharedMemory.open(${JSON.stringify(name)});
    const before = count();
    dropped = null;
    setImmediate(() => { global.gc(); setImmediate(() => { global.gc();
      console.log(JSON.stringify({ before, after: count(), kept: kept.length }));
    }); });
  `;
  const r = await run(process.execPath, ['--expose-gc', '-e', script]);
  t.equal(r.code, 0, r.stderr);
  t.same(JSON.parse(r.stdout), { before: 2, after: 1, kept: 1 << 20 }, 'the collected one is unmapped, the one still viewed is not');
});

t.test('a peer that shrinks the object does not kill this process with SIGBUS', async (t) => {
  const shm = SharedMemory.create(uniqueName('shrink'), 1 << 20);
  t.teardown(() => shm.unlink());
  const view = new Uint8Array(shm.buffer);
  view.fill(3);
  // Another process truncates the object, as a careless C peer's ftruncate would.
  const r = await run('truncate', ['-s', '4096', shm.path]);
  t.equal(r.code, 0, r.stderr);
  t.equal(view[0], 3, 'the first page is still the object');
  t.equal(view[512 * 1024], 0, 'a page past the new end reads zero instead of SIGBUS');
  view[600 * 1024] = 9;
  t.equal(view[600 * 1024], 9, 'and can be written, privately');
  // The first fault past the end gives up the rest of the range at once (128 pages from
  // 512 KiB to 1 MiB), so scattered touches cannot exhaust vm.max_map_count.
  t.equal(shm.lostPages, 128, 'the damage is counted');
  t.equal(view[4095], 3);
  t.equal(view[300 * 1024], 0, 'a page between the new end and the first fault reads zero as well');
  t.equal(shm.lostPages, (1024 - 300) / 4, 'lost pages: from the lowest fault to the end');
  shm.close();
  t.equal(shm.lostPages, 181, 'the count survives close()');
});

t.test('a child process reading past a shrunken end survives too', async (t) => {
  const shm = SharedMemory.create(uniqueName('shrink-child'), 1 << 16);
  t.teardown(() => shm.unlink());
  const script = `
    const { SharedMemory } = require('podshm');
    const { execFileSync } = require('node:child_process');
    const s = SharedMemory.open(${JSON.stringify(shm.name)});
    execFileSync('truncate', ['-s', '0', s.path]);
    let sum = 0;
    const v = new Uint8Array(s.buffer);
    for (let i = 0; i < v.length; i += 4096) sum += v[i];
    console.log(JSON.stringify({ sum, lost: s.lostPages }));`;
  const r = await run(process.execPath, ['-e', script]);
  t.equal(r.signal, null, 'not killed by a signal');
  t.equal(r.code, 0, r.stderr);
  t.same(JSON.parse(r.stdout), { sum: 0, lost: 16 });
});

t.test('a SIGBUS sent by kill ends the process as it would without podshm', async (t) => {
  const r = await run(process.execPath, [fixture('guard-peer.cjs'), 'kill']);
  t.equal(r.signal, 'SIGBUS');
  t.equal(r.stdout, '', 'it did not go on');
});

t.test('past the guard table, a mapping is refused with EMFILE rather than left open to SIGBUS', async (t) => {
  const shm = SharedMemory.create(uniqueName('many'), 4096);
  t.teardown(() => shm.unlink());
  const open = [];
  let err;
  for (let i = 0; i < 5000 && !err; i++) {
    try {
      open.push(SharedMemory.open(shm.name));
    } catch (e) {
      err = e;
    }
  }
  t.match(err, { name: 'SystemError', code: 'EMFILE', syscall: 'mmap', object: shm.name });
  t.ok(open.length > 4000 && open.length < 4096, `${open.length} mappings were made first`);
  for (const m of open) m.close();
  const again = SharedMemory.open(shm.name);
  t.equal(again.size, 4096, 'close() gives the slots back at once');
  again.close();
});

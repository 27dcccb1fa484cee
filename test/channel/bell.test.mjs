// A channel's bell (lib/bell.ts): the FIFO beside the segment that wakes a consumer
// waiting on the event loop. It lives and dies with the channel's name, never touches
// a file it did not make, and when it is missing the consumer falls back to the futex.
import t from 'tap';
import * as fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { Channel, SharedMemory } from 'podshm';
import { fixture, run, startUntil, uniqueName, until, within } from '../helpers.mjs';

// Header words (lib/channel_layout.ts), as Int32 indexes.
const CONSUMER_SLEEPING = 384 >> 2;
const DATA_SEQ = 388 >> 2;
const BELL_OFF = 648 >> 2;
const require = createRequire(import.meta.url);
const { Bell } = require('../../dist/cjs/channel/bell.js');
const { removeIfAbandoned } = require('../../dist/cjs/admin/participants.js');
const bellOf = (name) => `/dev/shm${name}.bell`;
const text = (bytes) => new TextDecoder().decode(bytes);
// Resolves when the bell wakes its sleeper (a ring, or close()).
const rung = (bell) => new Promise((resolve) => bell.listen({ rung: resolve }));

function header(t, name) {
  const raw = SharedMemory.open(name);
  t.teardown(() => raw.close());
  return new Int32Array(raw.buffer, 0, 1024);
}

// Runs the ringer against a consumer that waits with receive; resolves with
// what it received, the flag the ringer saw, and the futex word before and after.
async function ringOnce(t, ch, i32) {
  const rx = ch.receiver();
  const ringer = await startUntil(t, process.execPath, [fixture('channel-bell-ringer.mjs'), ch.name], 'attached\n');
  let out = '';
  ringer.stdout.on('data', (d) => (out += d));
  const seqBefore = Atomics.load(i32, DATA_SEQ);
  const message = text(await rx.receive({ timeout: 20_000 }));
  const code = await new Promise((resolve) => (ringer.exitCode !== null ? resolve(ringer.exitCode) : ringer.once('exit', resolve)));
  t.equal(code, 0, 'the ringer finished');
  return { message, flag: out.match(/flag=(\d+)/)?.[1], seqMoved: Atomics.load(i32, DATA_SEQ) !== seqBefore };
}

t.test('the bell is a FIFO beside the segment, with its mode, and goes with the name', async (t) => {
  const ch = Channel.create(uniqueName('bell'), { capacity: 4096, mode: 0o640 });
  const st = fs.lstatSync(bellOf(ch.name));
  t.ok(st.isFIFO(), `${bellOf(ch.name)} is a FIFO`);
  t.equal(st.mode & 0o777, 0o640, 'with the mode the channel was created with');
  ch.close();
  ch.unlink();
  t.notOk(fs.existsSync(bellOf(ch.name)), 'unlink() removes it');

  const other = Channel.create(uniqueName('bell'), { capacity: 4096 });
  other.close();
  Channel.unlink(other.name);
  t.notOk(fs.existsSync(bellOf(other.name)), 'Channel.unlink(name) removes it');

  const abandoned = Channel.create(uniqueName('bell'), { capacity: 4096 });
  abandoned.sender();
  abandoned.close();
  t.equal(removeIfAbandoned(`/dev/shm${abandoned.name}`, false), 'removed', 'gc removes a channel nobody uses');
  t.notOk(fs.existsSync(bellOf(abandoned.name)), 'and its bell');
});

t.test('a ring on one descriptor of the bell wakes a sleeper on another', async (t) => {
  const ch = Channel.create(uniqueName('bellpair'), { capacity: 4096 });
  t.teardown(() => (ch.close(), ch.unlink()));
  const segment = `/dev/shm${ch.name}`;
  const inode = fs.lstatSync(bellOf(ch.name)).ino;
  const [a, b] = [Bell.open(segment, inode), Bell.open(segment, inode)];
  t.teardown(() => (a.close(), b.close()));
  // Nothing but the ring ends this sleep (it has no deadline) before the hang guard.
  const heard = rung(a);
  b.ring();
  await within(heard, 'the ring ending the sleep');
  t.pass('heard');
});

t.test('a process that no longer sleeps on the bell leaves its rings to the one that does', async (t) => {
  const ch = Channel.create(uniqueName('bellsteal'), { capacity: 4096 });
  t.teardown(() => (ch.close(), ch.unlink()));
  const segment = `/dev/shm${ch.name}`;
  const inode = fs.lstatSync(bellOf(ch.name)).ino;
  // A former consumer: it slept on the bell once, and its watch may still be running.
  const script = `
    const { Bell } = require(${JSON.stringify(require.resolve('../../dist/cjs/channel/bell.js'))});
    const bell = Bell.open(${JSON.stringify(segment)}, ${inode});
    const sleeper = { rung() {} };
    bell.listen(sleeper);
    setTimeout(() => (bell.unlisten(sleeper), console.log('idle')), 1);
    setInterval(() => {}, 1000);`;
  await startUntil(t, process.execPath, ['-e', script], 'idle\n');
  const [a, b] = [Bell.open(segment, inode), Bell.open(segment, inode)];
  t.teardown(() => (a.close(), b.close()));
  // A ring the other process took would leave this sleep to the hang guard.
  for (let i = 0; i < 300; i++) {
    const heard = rung(a);
    b.ring();
    await within(heard, `ring ${i} ending the sleep`);
  }
  t.pass('300 rings heard');
});

t.test('a consumer on the event loop sleeps on the bell, and a producer in another process rings it', async (t) => {
  const ch = Channel.create(uniqueName('bellring'), { capacity: 4096, wait: 'block' });
  t.teardown(() => (ch.close(), ch.unlink()));
  const i32 = header(t, ch.name);
  const { message, flag, seqMoved } = await ringOnce(t, ch, i32);
  t.equal(message, 'rung');
  t.equal(flag, '2', 'the consumer slept on the bell');
  t.notOk(seqMoved, 'the producer rang instead of waking the futex');
  t.equal(Atomics.load(i32, BELL_OFF), 0);
});

t.test('without its bell the channel works through the futex', async (t) => {
  const ch = Channel.create(uniqueName('bellgone'), { capacity: 4096, wait: 'block' });
  t.teardown(() => (ch.close(), ch.unlink()));
  fs.unlinkSync(bellOf(ch.name));
  const i32 = header(t, ch.name);
  const { message, flag, seqMoved } = await ringOnce(t, ch, i32);
  t.equal(message, 'rung');
  t.equal(Atomics.load(i32, BELL_OFF), 1, 'the producer that found no bell said so');
  t.equal(flag, '1', 'so the consumer slept on the futex');
  t.ok(seqMoved, 'and the producer woke it there');
});

t.test('a FIFO put in place of the bell after creation is not taken for it', async (t) => {
  const ch = Channel.create(uniqueName('bellswap'), { capacity: 4096, wait: 'block' });
  t.teardown(() => (ch.close(), ch.unlink()));
  fs.unlinkSync(bellOf(ch.name));
  execFileSync('mkfifo', ['-m', '0600', bellOf(ch.name)]);
  const i32 = header(t, ch.name);
  const { message, flag, seqMoved } = await ringOnce(t, ch, i32);
  t.equal(message, 'rung');
  t.equal(Atomics.load(i32, BELL_OFF), 1, 'the producer refused the FIFO whose inode the header does not name');
  t.equal(flag, '1', 'so the consumer slept on the futex');
  t.ok(seqMoved);
});

t.test("another user's FIFO under the bell name is neither replaced nor used", { skip: process.geteuid?.() === 0 ? false : 'needs root to plant a file of another user' }, async (t) => {
  const name = uniqueName('bellplant');
  execFileSync('mkfifo', ['-m', '0666', bellOf(name)]);
  fs.chownSync(bellOf(name), 65534, 65534);
  t.teardown(() => fs.rmSync(bellOf(name), { force: true }));
  const planted = fs.lstatSync(bellOf(name)).ino;
  const ch = Channel.create(name, { capacity: 4096, wait: 'block' });
  t.teardown(() => (ch.close(), ch.unlink()));
  t.equal(fs.lstatSync(bellOf(name)).ino, planted, 'left in place');
  const i32 = header(t, name);
  const { message, flag } = await ringOnce(t, ch, i32);
  t.equal(message, 'rung');
  t.equal(flag, '1', 'the channel works without a bell');
});

t.test('a FIFO left under the bell name is replaced; anything else is left alone', async (t) => {
  const stale = uniqueName('bellstale');
  execFileSync('mkfifo', ['-m', '0666', bellOf(stale)]);
  const staleIno = fs.lstatSync(bellOf(stale)).ino;
  const ch = Channel.create(stale, { capacity: 4096 });
  const fresh = fs.lstatSync(bellOf(stale));
  t.not(fresh.ino, staleIno, 'a new FIFO');
  t.equal(fresh.mode & 0o777, 0o600, 'with the channel mode, not the stale one');
  ch.close();
  ch.unlink();

  const name = uniqueName('bellfile');
  fs.writeFileSync(bellOf(name), 'keep me');
  t.teardown(() => fs.rmSync(bellOf(name), { force: true }));
  const other = Channel.create(name, { capacity: 4096, wait: 'block' });
  const i32 = header(t, name);
  const { message, flag } = await ringOnce(t, other, i32);
  t.equal(message, 'rung', 'the channel works without a bell');
  t.equal(flag, '1', 'its consumer sleeps on the futex');
  other.close();
  other.unlink();
  t.equal(fs.readFileSync(bellOf(name), 'utf8'), 'keep me', 'the file was neither written nor removed');
});

t.test('closing the channel ends an asynchronous receive sleeping on the bell', async (t) => {
  const ch = Channel.create(uniqueName('bellclose'), { capacity: 4096, wait: 'block' });
  t.teardown(() => ch.unlink());
  const i32 = header(t, ch.name);
  const pending = ch.receiver().receive();
  await until(() => Atomics.load(i32, CONSUMER_SLEEPING) !== 0, 'the receiver going to sleep');
  t.equal(Atomics.load(i32, CONSUMER_SLEEPING), 2, 'asleep on the bell');
  ch.close();
  await t.rejects(within(pending, 'the close ending the receive'), { code: 'EBADF' });
});

t.test('the bell keeps a process alive only while something waits on it', async (t) => {
  const name = uniqueName('bellexit');
  const script = `
    import { Channel } from 'podshm';
    const ch = Channel.create(${JSON.stringify(name)}, { capacity: 4096, wait: 'block' });
    const rx = ch.receiver();
    ch.unlink();
    await rx.receive({ timeout: 30 }).catch((err) => console.log(err.code));
    // Between sleeps only the bell holds its poll callback: a collection must not lose it.
    gc();
    await rx.receive({ timeout: 30 }).catch((err) => console.log(err.code));
    setTimeout(() => console.log('still running'), 10);`;
  const r = await run(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { timeoutMs: 20_000 });
  t.equal(r.code, 0, `exited by itself (${r.signal ?? r.stderr})`);
  t.equal(r.stdout, 'ETIMEDOUT\nETIMEDOUT\nstill running\n');
});

t.test('a sleeping flag a peer scribbles on costs a spurious wake-up, nothing else', async (t) => {
  const ch = Channel.create(uniqueName('bellflag'), { capacity: 4096, wait: 'block' });
  t.teardown(() => (ch.close(), ch.unlink()));
  const i32 = header(t, ch.name);
  const tx = ch.sender();
  const rx = ch.receiver();
  for (const [i, garbage] of [2, 7, -1, 2].entries()) {
    Atomics.store(i32, CONSUMER_SLEEPING, garbage);
    tx.sendSync(new Uint8Array([i]));
    t.equal(Atomics.load(i32, CONSUMER_SLEEPING), 0, `the producer cleared ${garbage}`);
  }
  // The bell was rung for nobody: the next sleep wakes at once, checks, and sleeps again.
  for (let i = 0; i < 4; i++) t.same([...(await rx.receive({ timeout: 5000 }))], [i]);
  const late = rx.receive({ timeout: 60_000 });
  await until(() => Atomics.load(i32, CONSUMER_SLEEPING) !== 0, 'the receiver going to sleep');
  tx.sendSync(new Uint8Array([9]));
  t.same([...(await late)], [9]);
});

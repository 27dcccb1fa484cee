// Channel.stats() after a known exchange between processes: every figure exact. Two
// producer processes send known messages one after the other; this process receives
// and releases a known number of them. Each step waits for the one before (a line from
// the producer, its exit); nothing depends on timing.
import { spawn } from 'node:child_process';
import t from 'tap';
import { Channel } from 'podshm';
import { uniqueName, within } from '../helpers.mjs';

// Opens the channel, sends messages of the given sizes (filled with their size) when
// told 'go' on stdin, says 'sent', and closes its sender at the end of stdin.
const PRODUCER = `
  const { Channel } = require('podshm');
  const ch = Channel.open(process.argv[1]);
  const tx = ch.sender();
  const sizes = process.argv.slice(2).map(Number);
  let input = '';
  process.stdin.on('data', (d) => {
    input += d;
    if (input === 'go\\n') {
      for (const n of sizes) tx.sendSync(new Uint8Array(n).fill(n));
      console.log('sent');
    }
  });
  process.stdin.on('end', () => (tx.close(), ch.close()));
  console.log('ready');`;

function producer(t, name, sizes) {
  const child = spawn(process.execPath, ['-e', PRODUCER, name, ...sizes.map(String)], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.teardown(() => child.kill('SIGKILL'));
  let out = '';
  const seen = (line) => within(new Promise((resolve, reject) => {
    const check = () => out.includes(`${line}\n`) && resolve();
    child.stdout.on('data', (d) => ((out += d), check()));
    child.once('exit', (code) => reject(new Error(`producer exited (${code}) before '${line}'`)));
    check();
  }), `the producer's '${line}'`);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return { child, seen, exited };
}

// A record is an 8-byte header and the payload rounded up to 8 (docs/channel.md, Layout).
const record = (size) => 8 + Math.ceil(size / 8) * 8;
const sum = (xs) => xs.reduce((a, b) => a + b, 0);

t.test('stats() after a known exchange between processes: every figure exact', async (t) => {
  const name = uniqueName('chstats');
  const ch = Channel.create(name, { capacity: 1 << 16, producers: 'multi' });
  t.teardown(() => (ch.close(), ch.unlink()));
  const rx = ch.receiver();
  const empty = { capacity: 1 << 16, usedBytes: 0, depth: 0, messagesSent: 0, bytesSent: 0, messagesReceived: 0, bytesReceived: 0, producersAlive: 0, consumerAlive: true };
  t.same(ch.stats(), empty, 'a new channel with its receiver');

  const aSizes = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const bSizes = [100, 100, 100, 100, 100];
  const a = producer(t, name, aSizes);
  const b = producer(t, name, bSizes);
  await a.seen('ready');
  await b.seen('ready');
  t.same(ch.stats(), { ...empty, producersAlive: 2 }, 'two producers attached, nothing sent');

  a.child.stdin.write('go\n');
  await a.seen('sent');
  b.child.stdin.write('go\n');
  await b.seen('sent');
  const all = [...aSizes, ...bSizes];
  t.same(ch.stats(), {
    ...empty,
    usedBytes: sum(all.map(record)),
    depth: 15,
    messagesSent: 15,
    bytesSent: sum(all),
    producersAlive: 2,
  }, 'after 15 messages from the two');

  const first = [];
  for (let i = 0; i < 6; i++) first.push(rx.receiveSync({ timeout: 30_000 }).length);
  rx.release();
  t.same(first, aSizes.slice(0, 6), "the first producer's messages first, in order");
  // The consumer publishes its tail and counts lazily (docs/channel.md, stats()): every
  // quarter ring (16 KiB here), or once it has caught up. 6 messages are neither.
  const sent = { ...empty, usedBytes: sum(all.map(record)), depth: 15, messagesSent: 15, bytesSent: sum(all), producersAlive: 2 };
  t.same(ch.stats(), sent, 'after 6 received and released: as of the last publication');

  const rest = [];
  for (let i = 0; i < 9; i++) rest.push(rx.receiveSync({ timeout: 30_000 }).length);
  t.same(rest, all.slice(6));
  t.equal(rx.tryReceive(), null, 'caught up');
  t.same(ch.stats(), { ...sent, usedBytes: 0, depth: 0, messagesReceived: 15, bytesReceived: sum(all) }, 'caught up: every figure exact');
  a.child.stdin.end();
  await within(a.exited, 'the first producer exiting');
  t.same(ch.stats(), { ...empty, messagesSent: 15, bytesSent: sum(all), messagesReceived: 15, bytesReceived: sum(all), producersAlive: 1 }, 'all received; one producer left');
  b.child.kill('SIGKILL');
  await within(b.exited, 'the second producer dying');
  t.same(ch.stats(), { ...empty, messagesSent: 15, bytesSent: sum(all), messagesReceived: 15, bytesReceived: sum(all) }, 'a SIGKILLed producer no longer counts; its counts stay');
  rx.close();
  t.equal(ch.stats().consumerAlive, false, 'the receiver closed');
});

// `podshm metrics`: two processes exchange a known number of messages through a channel,
// and the endpoint, read with a real Prometheus text-format parser, reports exactly
// that many; then the figures follow the peers' deaths, and scribbled counters read as
// unknown without breaking the scrape.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { Channel } from 'podshm';
import { fixture, run, startUntil } from '../helpers.mjs';
import { cli, exited, metricValue, parsePrometheus, privateDir } from './figures.mjs';

/** Starts `podshm metrics` on an ephemeral port; resolves with its /metrics URL once it serves. */
function serve(t, dir) {
  const child = spawn(process.execPath, [cli, 'metrics', '--port', '0', '--host', '127.0.0.1', '--dir', dir, '--no-mqueue'], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => child.kill('SIGKILL'));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /serving (http:\S+)\n/.exec(out);
      if (m) resolve({ child, url: m[1] });
    });
    child.once('exit', (code) => reject(new Error(`podshm metrics exited (${code}): ${out}`)));
  });
}

async function scrape(url) {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status}`);
  return { type: res.headers.get('content-type'), families: parsePrometheus(await res.text()) };
}

/** The value of `metric` for the object `name` (and `extra` labels); undefined if the scrape has no such sample. */
const value = (families, metric, name, extra = {}) => metricValue(families, metric, { name, ...extra });


t.test('two processes exchange 3000 messages: the endpoint reports exactly 3000, then their deaths', async (t) => {
  const dir = privateDir(t, 'metrics');
  const name = `/metrics-${process.pid}`;
  const count = 3000;
  const size = 100;
  const consumer = await startUntil(t, process.execPath, [fixture('observe-peer.mjs'), 'consumer', dir, name, String(count)], 'ready\n');
  const received = new Promise((resolve) => consumer.stdout.on('data', (d) => String(d).includes('received') && resolve()));
  const producer = await startUntil(t, process.execPath, [fixture('observe-peer.mjs'), 'producer', dir, name, String(count), String(size)], 'sent\n');
  await received;

  const { url } = await serve(t, dir);
  const { type, families } = await scrape(url);
  t.match(type, /^text\/plain; version=0\.0\.4/);
  const source = (s) => Number(families.find((f) => f.name === 'podshm_source_readable')?.metrics.find((m) => m.labels.source === s)?.value);
  t.equal(source('posix'), 1, 'the shm directory was listed');
  t.equal(source('sysv'), 1);
  t.ok(Number.isNaN(source('mqueue')), '--no-mqueue: no queue source at all');
  t.equal(value(families, 'podshm_channel_sent_messages_total', name), count, 'sent: exactly the messages exchanged');
  t.equal(value(families, 'podshm_channel_received_messages_total', name), count, 'received: exactly as many');
  t.equal(value(families, 'podshm_channel_sent_bytes_total', name), count * size);
  t.equal(value(families, 'podshm_channel_received_bytes_total', name), count * size);
  t.equal(value(families, 'podshm_channel_lag_messages', name), 0);
  t.equal(value(families, 'podshm_channel_used_bytes', name), 0, 'the consumer has released everything');
  t.equal(value(families, 'podshm_channel_capacity_bytes', name), 65536);
  t.equal(value(families, 'podshm_channel_producers', name, { state: 'live' }), 1);
  t.equal(value(families, 'podshm_channel_consumer', name, { state: 'live' }), 1);
  for (const side of ['producer', 'consumer']) {
    t.ok(Number.isInteger(value(families, 'podshm_channel_waits_total', name, { side })), `${side} waits are counted`);
    t.ok(Number.isInteger(value(families, 'podshm_channel_wakeups_total', name, { side })), `${side} wake-ups are counted`);
  }
  // 3000 messages of 112 bytes through a 64 KiB ring: the producer had to wait for room.
  t.ok(value(families, 'podshm_channel_waits_total', name, { side: 'producer' }) >= 1, 'the producer waited for room at least once');
  const last = value(families, 'podshm_channel_last_message_timestamp_seconds', name);
  t.ok(last > 0 && last <= Date.now() / 1000, 'the time of the last message is stamped');

  consumer.kill('SIGKILL');
  producer.kill('SIGKILL');
  await Promise.all([exited(consumer), exited(producer)]);
  const after = (await scrape(url)).families;
  t.equal(value(after, 'podshm_channel_consumer', name, { state: 'died' }), 1, 'a consumer killed without closing reads as died');
  t.equal(value(after, 'podshm_channel_consumer', name, { state: 'live' }), 0);
  t.equal(value(after, 'podshm_channel_producers', name, { state: 'live' }), 0);
  t.equal(value(after, 'podshm_channel_producers', name, { state: 'gone' }), 1);
  t.equal(value(after, 'podshm_channel_sent_messages_total', name), count, 'the counters outlive the participants');
});

t.test('a scribbled header: its figures are unknown (no sample), the scrape still works, nothing is written', async (t) => {
  const dir = privateDir(t, 'metrics');
  const good = '/good';
  const scribbled = '/scribbled';
  const versioned = '/versioned';
  for (const n of [good, scribbled, versioned]) Channel.create(n, { dir, capacity: 4096 }).close();
  const file = (n) => path.join(dir, n.slice(1));
  const fd = fs.openSync(file(scribbled), 'r+');
  const f64 = Buffer.alloc(8);
  f64.writeDoubleLE(NaN);
  fs.writeSync(fd, f64, 0, 8, 1024 + 8); // producer slot 0's SENT_MESSAGES
  f64.writeDoubleLE(-5);
  fs.writeSync(fd, f64, 0, 8, 264); // RECEIVED_MESSAGES
  fs.writeSync(fd, Buffer.from([0xff, 0xff, 0xff, 0x7f]), 0, 4, 256); // TAIL: no head is that far ahead
  fs.closeSync(fd);
  const vfd = fs.openSync(file(versioned), 'r+');
  fs.writeSync(vfd, Buffer.from([99, 0, 0, 0]), 0, 4, 4);
  fs.closeSync(vfd);
  const before = fs.readFileSync(file(scribbled));

  const { url } = await serve(t, dir);
  const { families } = await scrape(url);
  t.equal(value(families, 'podshm_channel_sent_messages_total', good), 0);
  t.equal(value(families, 'podshm_channel_sent_messages_total', scribbled), undefined, 'a NaN counter: no sample');
  t.equal(value(families, 'podshm_channel_received_messages_total', scribbled), undefined, 'a negative counter: no sample');
  t.equal(value(families, 'podshm_channel_lag_messages', scribbled), undefined);
  t.equal(value(families, 'podshm_channel_used_bytes', scribbled), undefined, 'a tail past the head: no fill level');
  t.equal(value(families, 'podshm_channel_capacity_bytes', scribbled), 4096, 'what is sound is still read');
  t.equal(value(families, 'podshm_object_readable', scribbled), 1);
  t.equal(value(families, 'podshm_object_readable', versioned), 0, 'an unknown layout version: unreadable, and said so');
  t.equal(value(families, 'podshm_channel_sent_messages_total', versioned), undefined);
  t.same(fs.readFileSync(file(scribbled)), before, 'the reader wrote nothing');

  const top = await run(process.execPath, [cli, 'top', '--iterations', '1', '--dir', dir, '--no-mqueue']);
  t.equal(top.code, 0, top.stderr);
  t.match(top.stdout, /channel\s+\/versioned\s.*layout version 99/);
});

t.test('a directory that cannot be listed: the scrape says so, still answers', async (t) => {
  const dir = privateDir(t, 'metrics');
  const { url } = await serve(t, `${dir}/not-mounted`);
  const { families } = await scrape(url);
  const posix = families.find((f) => f.name === 'podshm_source_readable').metrics.find((m) => m.labels.source === 'posix');
  t.equal(Number(posix.value), 0);
});

t.test('label values are escaped per the format', async (t) => {
  const dir = privateDir(t, 'metrics');
  const name = '/a"b\\c\nd';
  Channel.create(name, { dir, capacity: 4096 }).close();
  const { url } = await serve(t, dir);
  const { families } = await scrape(url);
  t.equal(value(families, 'podshm_channel_capacity_bytes', name), 4096, 'the parser reads the name back as it is');
});

t.test('bad arguments: one line, exit 2', async (t) => {
  for (const [args, pattern] of [
    [['metrics', '--port', 'http'], /^podshm: metrics: --port must be a port number from 0 to 65535, not 'http'/],
    [['metrics', '--port', '70000'], /^podshm: metrics: --port must be/],
    [['metrics', '--dir='], /^podshm: metrics: --dir needs a path/],
    [['metrics', 'extra'], /^podshm: metrics: .*'extra'/],
  ]) {
    const r = await run(process.execPath, [cli, ...args]);
    t.equal(r.code, 2, args.join(' '));
    t.match(r.stderr, pattern);
  }
});

// A topic's figures, read without attaching, between real processes: a publisher sends a
// known number of messages to a subscriber that reads them all and one that reads none;
// collectStats(), `podshm metrics`, `podshm top` and `podshm ls` report exactly that,
// then the dead subscriber; a scribbled counter or cursor reads as unknown.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { Topic, channelRates, collectStats } from 'podshm';
import { fixture, run, startUntil } from '../helpers.mjs';
import { cli, exited, metricValue, metricsOnce, privateDir } from './figures.mjs';

const topicOf = (dir, name) => collectStats({ dir, sysv: false, mqueue: false }).objects.find((o) => o.name === name);

const COUNT = 300;
const SIZE = 100;
// A record: a 16-byte header and the payload padded to 16 bytes.
const RECORD = 16 + 112;

t.test('a publisher, a subscriber that reads all and one that reads none: exactly the messages and the lags', async (t) => {
  const dir = privateDir(t, 'topic-figures');
  const name = `/topic-figures-${process.pid}`;
  Topic.create(name, { dir, capacity: 65536, policy: 'block' }).close();
  await startUntil(t, process.execPath, [fixture('observe-peer.mjs'), 'topic-hold', dir, name], 'ready\n');
  const reader = await startUntil(t, process.execPath, [fixture('observe-peer.mjs'), 'topic-sub', dir, name, String(COUNT)], 'ready\n');
  const received = new Promise((resolve) => reader.stdout.on('data', (d) => String(d).includes('received') && resolve()));
  const before = collectStats({ dir, sysv: false, mqueue: false });
  await startUntil(t, process.execPath, [fixture('observe-peer.mjs'), 'topic-pub', dir, name, String(COUNT), String(SIZE)], 'sent\n');
  await received;
  const after = collectStats({ dir, sysv: false, mqueue: false });
  const rates = channelRates(before, after).get(after.objects.find((o) => o.name === name));
  const seconds = (after.at - before.at) / 1000;
  t.equal(Math.round(rates.messagesPerSecond * seconds), COUNT, 'the rate between two readings: exactly the messages published in between');
  t.equal(Math.round(rates.bytesPerSecond * seconds), COUNT * SIZE);
  t.equal(rates.lastMessageAt, after.at, 'published in between: the last message is at most one interval old');

  const o = topicOf(dir, name);
  t.equal(o.kind, 'topic');
  t.equal(o.problem, null);
  const f = o.topic;
  t.equal(f.messagesSent, COUNT, 'published: exactly the messages sent');
  t.equal(f.bytesSent, COUNT * SIZE);
  t.equal(f.publishersLive, 1);
  t.equal(f.subscribersLive, 2);
  t.equal(f.subscribersDead, 0);
  t.equal(f.policy, 'block');
  const [reading, holding] = [...f.subscribers].sort((a, b) => a.lagBytes - b.lagBytes);
  t.match(reading, { state: 'live', lagBytes: 0, lagMessages: 0, receivedMessages: COUNT, lostMessages: 0 }, 'the reader has read everything');
  t.match(holding, { state: 'live', lagBytes: COUNT * RECORD, lagMessages: COUNT, receivedMessages: 0 }, 'the holder lags by every message');
  t.equal(f.maxLagMessages, COUNT);
  t.equal(f.usedBytes, COUNT * RECORD, 'the ring holds what the slowest has not read');

  const families = await metricsOnce(dir);
  const labels = { kind: 'topic', name };
  t.equal(metricValue(families, 'podshm_topic_published_messages_total', labels), COUNT, 'metrics: exactly the messages published');
  t.equal(metricValue(families, 'podshm_topic_published_bytes_total', labels), COUNT * SIZE);
  t.equal(metricValue(families, 'podshm_topic_max_lag_messages', labels), COUNT);
  t.equal(metricValue(families, 'podshm_topic_used_bytes', labels), COUNT * RECORD);
  t.equal(metricValue(families, 'podshm_topic_subscribers', { ...labels, state: 'live' }), 2);
  t.equal(metricValue(families, 'podshm_topic_publishers', { ...labels, state: 'live' }), 1);
  t.equal(metricValue(families, 'podshm_topic_subscriber_lag_messages', { ...labels, subscriber: String(holding.slot) }), COUNT);
  t.equal(metricValue(families, 'podshm_topic_subscriber_received_messages_total', { ...labels, subscriber: String(reading.slot) }), COUNT);

  const top = await run(process.execPath, [cli, 'top', '--iterations', '1', '--dir', dir, '--no-mqueue']);
  t.equal(top.code, 0, top.stderr);
  t.match(top.stdout, new RegExp(`topic\\s+${name}\\s+1p 2s\\s+-\\s+-\\s+59%\\s+${COUNT}\\s`), 'top: its peers, fill and farthest lag');

  const ls = JSON.parse((await run(process.execPath, [cli, 'ls', '--json', '--dir', dir])).stdout);
  t.equal(ls.posix.objects.find((x) => x.name === name).lag, COUNT * RECORD, 'ls: the farthest lag in bytes');
});

t.test('a subscriber killed: it reads as dead, still holding its room', async (t) => {
  const dir = privateDir(t, 'topic-figures');
  const name = `/topic-dead-${process.pid}`;
  Topic.create(name, { dir, capacity: 65536, policy: 'block' }).close();
  const holder = await startUntil(t, process.execPath, [fixture('observe-peer.mjs'), 'topic-hold', dir, name], 'ready\n');
  await startUntil(t, process.execPath, [fixture('observe-peer.mjs'), 'topic-pub', dir, name, '10', String(SIZE)], 'sent\n');
  t.match(topicOf(dir, name).topic, { subscribersLive: 1, subscribersDead: 0 });
  holder.kill('SIGKILL');
  await exited(holder);
  const f = topicOf(dir, name).topic;
  t.match(f, { subscribersLive: 0, subscribersDead: 1, publishersLive: 1, maxLagMessages: 10 });
  t.equal(f.subscribers[0].state, 'dead');
  const families = await metricsOnce(dir);
  t.equal(metricValue(families, 'podshm_topic_subscribers', { kind: 'topic', name, state: 'dead' }), 1);
});

t.test('scribbled figures read as unknown, the rest is still read, nothing is written', async (t) => {
  const dir = privateDir(t, 'topic-figures');
  const name = `/topic-scribbled-${process.pid}`;
  const versioned = `/topic-versioned-${process.pid}`;
  Topic.create(versioned, { dir, capacity: 4096 }).close();
  const topic = Topic.create(name, { dir, capacity: 4096 });
  const sub = topic.subscriber();
  topic.publisher().publishSync(new Uint8Array(8));
  sub.close();
  topic.close();
  const file = (n) => path.join(dir, n.slice(1));
  const fd = fs.openSync(file(name), 'r+');
  const f64 = Buffer.alloc(8);
  f64.writeDoubleLE(NaN);
  fs.writeSync(fd, f64, 0, 8, 1024 + 8); // publisher slot 0's SENT_MESSAGES
  const sub0 = 4096;
  fs.writeSync(fd, Buffer.from([1, 0, 0, 0]), 0, 4, sub0); // slot 0 attached again
  fs.writeSync(fd, Buffer.from([3, 0, 0, 0]), 0, 4, sub0 + 8); // a cursor no record starts at
  f64.writeDoubleLE(-1);
  fs.writeSync(fd, f64, 0, 8, sub0 + 16); // RECEIVED_MESSAGES
  fs.closeSync(fd);
  const vfd = fs.openSync(file(versioned), 'r+');
  fs.writeSync(vfd, Buffer.from([99, 0, 0, 0]), 0, 4, 4);
  fs.closeSync(vfd);
  const before = fs.readFileSync(file(name));

  const f = topicOf(dir, name).topic;
  t.equal(f.messagesSent, null, 'a NaN counter: unknown');
  t.equal(f.bytesSent, 8, 'what is sound is still read');
  t.match(f.subscribers[0], { state: 'dead', lagBytes: null, lagMessages: null, receivedMessages: null });
  t.equal(f.maxLagMessages, null);
  const families = await metricsOnce(dir);
  t.equal(metricValue(families, 'podshm_topic_published_messages_total', { name }), undefined, 'no sample for an unknown figure');
  t.equal(metricValue(families, 'podshm_topic_published_bytes_total', { name }), 8);
  t.equal(metricValue(families, 'podshm_object_readable', { name: versioned }), 0, 'an unknown layout version: unreadable, and said so');
  t.match(topicOf(dir, versioned).problem, /layout version 99/);
  t.same(fs.readFileSync(file(name)), before, 'the reader wrote nothing');
});

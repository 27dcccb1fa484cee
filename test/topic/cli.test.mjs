// `podshm ls` tells topics by their magic and counts their live participants; `podshm gc`
// removes a topic nobody uses any more (every publisher and subscriber holds a liveness
// lock while attached) and keeps one in use.
import t from 'tap';
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Topic } from 'podshm';
import { run, within } from '../helpers.mjs';
import { peer } from './peer.mjs';

const cli = fileURLToPath(new URL('../../dist/cjs/cli/main.js', import.meta.url));
const podshm = (args) => run(process.execPath, [cli, ...args]);

t.test('ls shows topics and their live participants; gc removes the abandoned one only', async (t) => {
  const dir = fs.mkdtempSync('/dev/shm/podshm-topic-cli-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const name of ['/live', '/dead']) Topic.create(name, { capacity: 4096, dir }).close();
  const env = { PODSHM_TOPIC_DIR: dir };
  const holder = peer(t, ['hold', '/live'], env);
  const doomed = peer(t, ['hold', '/dead'], env);
  await within(Promise.all([holder.ready, doomed.ready]), 'the subscribers attaching');
  const live = Topic.open('/live', { dir });
  t.teardown(() => live.close());
  live.publisher();

  const ls = async () => {
    const r = await podshm(['ls', '--json', '--dir', dir]);
    t.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout).posix.objects.map((o) => [o.name, o.kind, o.live]);
  };
  t.same(await ls(), [['/dead', 'topic', 1], ['/live', 'topic', 2]], 'a subscriber in each, and a publisher in /live');
  await new Promise((resolve) => {
    doomed.child.once('exit', resolve);
    doomed.child.kill('SIGKILL');
  });
  t.same(await ls(), [['/dead', 'topic', 0], ['/live', 'topic', 2]], 'the SIGKILLed subscriber no longer counts');

  const r = await podshm(['gc', '--json', '--min-age', '0', '--dir', dir]);
  t.equal(r.code, 0, r.stderr);
  t.match(Object.fromEntries(JSON.parse(r.stdout).objects.map((o) => [o.name, o])), {
    '/dead': { action: 'removed', kind: 'topic' },
    '/live': { action: 'kept', reason: 'live' },
  });
  t.same(fs.readdirSync(dir).sort(), ['live']);
});

t.test('ls shows how far a topic\'s farthest subscriber is behind, read from outside', async (t) => {
  const dir = fs.mkdtempSync('/dev/shm/podshm-topic-lag-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const topic = Topic.create('/lagging', { capacity: 65536, dir });
  t.teardown(() => topic.close());
  const pub = topic.publisher();
  const behind = topic.subscriber();
  const current = topic.subscriber();
  const lag = async () => {
    const r = await podshm(['ls', '--json', '--dir', dir]);
    t.equal(r.code, 0, r.stderr);
    const [o] = JSON.parse(r.stdout).posix.objects;
    return o.lag;
  };
  t.equal(await lag(), 0, 'nothing published: no lag');
  // 40 records of 16 + 496 bytes: more than a quarter ring, so the subscriber that reads
  // them all publishes its cursor on the way; the other reads nothing.
  for (let i = 0; i < 40; i++) pub.publishSync(new Uint8Array(496));
  for (let i = 0; i < 40; i++) current.receiveSync({ timeout: 10_000 });
  t.equal(current.tryReceive(), null);
  t.equal(await lag(), 40 * 512, 'the subscriber that read nothing is 40 records behind');
  for (let i = 0; i < 40; i++) behind.receiveSync({ timeout: 10_000 });
  t.equal(behind.tryReceive(), null);
  t.equal(await lag(), 0, 'caught up');
  const text = await podshm(['ls', '--dir', dir]);
  t.match(text.stdout, /KIND +LIVE +LAG/);
});

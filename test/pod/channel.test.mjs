// A Channel between two containers of a pod that share a Memory emptyDir at /dev/shm:
// the consumer's bell (a FIFO beside the segment) rings across the containers, and
// streams from two producers in the other container arrive complete and in order.
import t from 'tap';
import { fixture, uniqueName } from '../helpers.mjs';
import { MiB, podSupport, startPod } from '../pod.mjs';

const why = podSupport();

t.test('Channel across the containers of a pod', { skip: why ?? false }, async (t) => {
  const pod = await startPod({ emptyDir: 64 * MiB });
  t.teardown(() => pod.close());
  const [a, b] = [await pod.container('a'), await pod.container('b')];
  const [bellName, streamName] = [uniqueName('podbell'), uniqueName('podstream')];
  const count = 800;

  const consumer = a.spawn(process.execPath, [fixture('pod-channel-consumer.mjs'), bellName, streamName, '2', String(count)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  consumer.stderr.on('data', (d) => (err += d));
  const seen = (pattern) => new Promise((resolve, reject) => {
    const look = () => {
      const m = pattern.exec(out);
      if (m) return resolve(m);
      if (consumer.exitCode !== null) reject(new Error(`the consumer exited: ${err}`));
    };
    consumer.stdout.on('data', (d) => ((out += d), look()));
    consumer.once('exit', look);
    look();
  });
  await seen(/ready\n/);

  const ringer = await b.node([fixture('channel-bell-ringer.mjs'), bellName]);
  t.equal(ringer.code, 0, ringer.stderr);
  t.match(ringer.stdout, /flag=2\n/, 'the consumer in container a slept on the bell');
  t.equal((await seen(/got (.*)\n/))[1], 'rung', 'and the producer in container b rang it');

  const producers = [0, 1].map((p) => b.node([fixture('channel-producer.mjs'), streamName, String(p), String(count), 'send', '2'], { timeoutMs: 60_000 }));
  for (const r of await Promise.all(producers)) t.equal(r.code, 0, r.stderr);
  const result = JSON.parse((await seen(/(\{.*\})\n/))[1]);
  t.same(result.errors, [], 'nothing lost, duplicated, reordered or torn');
  t.same(result.next, [count, count], 'every message of both producers arrived');
});

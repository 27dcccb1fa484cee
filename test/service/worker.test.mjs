// A service served from a Worker thread, called from the main thread, and served again
// by a second Worker once the first has closed.
import t from 'tap';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { Client } from 'podshm';
import { fixture, uniqueName, within } from '../helpers.mjs';

async function serveIn(t, name) {
  const worker = new Worker(fixture('service-worker.mjs'), { workerData: { name } });
  t.teardown(() => worker.terminate());
  await within(once(worker, 'message'), 'the worker serving');
  return worker;
}

t.test('a Worker serves; after it closes, the next Worker serves the same client', async (t) => {
  const name = uniqueName('svc');
  const client = Client.connect(name);
  t.teardown(() => client.close());
  const first = await serveIn(t, name);
  t.equal(Buffer.from(await client.call(Buffer.from('a'))).toString(), `${first.threadId}:a`);
  first.postMessage('close');
  await within(once(first, 'exit'), 'the first worker ending');
  const waiting = client.call(Buffer.from('b'), { timeout: 60_000 });
  const second = await serveIn(t, name);
  t.equal(Buffer.from(await waiting).toString(), `${second.threadId}:b`);
  second.postMessage('close');
  await within(once(second, 'exit'), 'the second worker ending');
});

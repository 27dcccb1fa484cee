// A server-shaped process (HTTP plus a channel consumer): its timers and requests run
// while the consumer waits, and SIGTERM ends it cleanly, leaving nothing behind.
import * as fs from 'node:fs';
import * as http from 'node:http';
import t from 'tap';
import { Channel } from 'podshm';
import { spawn } from 'node:child_process';
import { fixture, uniqueName, within } from '../helpers.mjs';

const get = (port) =>
  new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/' }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(JSON.parse(body)));
    }).on('error', reject);
  });

t.test('an HTTP server consuming a channel keeps serving, ticking and stops on SIGTERM', async (t) => {
  const name = uniqueName('server');
  const server = spawn(process.execPath, [fixture('server-consumer.mjs'), name], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => server.kill('SIGKILL'));
  let out = '';
  const port = await within(
    new Promise((resolve) =>
      server.stdout.on('data', (d) => {
        out += d;
        const m = /port (\d+)\n/.exec(out);
        if (m) resolve(Number(m[1]));
      }),
    ),
    'the server listening',
  );
  t.ok(port > 0, 'listening');
  // The consumer is waiting in `for await` on an empty channel: requests are still served,
  // and the interval timer keeps running between them.
  const first = await get(port);
  t.equal(first.received, 0);
  let later = first;
  for (const end = Date.now() + 30_000; later.ticks < first.ticks + 3; ) {
    if (Date.now() > end) throw new Error('the interval timer stopped while the consumer waited');
    later = await get(port);
  }
  t.ok(later.ticks >= first.ticks + 3, 'timers fire while the consumer waits');

  const tx = Channel.open(name).sender();
  for (let i = 1; i <= 100; i++) await tx.send(Buffer.from(`m${i}`));
  tx.close();
  let status = later;
  for (const end = Date.now() + 30_000; status.received < 100; ) {
    if (Date.now() > end) throw new Error(`only ${status.received} of 100 messages were consumed`);
    status = await get(port);
  }
  t.same({ received: status.received, last: status.last }, { received: 100, last: 'm100' }, 'every message consumed, in order');

  const exited = new Promise((resolve) => server.once('exit', (code, signal) => resolve({ code, signal })));
  server.kill('SIGTERM');
  const { code, signal } = await within(exited, 'the server exiting after SIGTERM');
  t.same({ code, signal }, { code: 0, signal: null }, 'SIGTERM reached its handler and the process ended by itself');
  t.match(out, /bye 100/);
  t.notOk(fs.existsSync(`/dev/shm${name}`), 'the channel was unlinked');
});

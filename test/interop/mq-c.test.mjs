// MessageQueue speaks plain POSIX: a C program with mq_send/mq_receive on the other end.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MessageQueue } from 'podshm';
import { fixture, run, uniqueName } from '../helpers.mjs';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podshm-mq-c-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const bin = path.join(dir, 'mq-peer');
const cc = await run('cc', ['-O2', '-o', bin, fixture('mq-peer.c'), '-lrt']).catch((err) => ({ code: -1, stderr: String(err) }));
if (cc.code !== 0) {
  t.plan(0, `needs a C compiler (cc -lrt): ${cc.stderr.trim()}`);
  process.exit(0);
}

function queue(t) {
  const name = uniqueName('mq-c');
  const q = MessageQueue.create(name, { exclusive: true, maxMessages: 10, messageSize: 128 });
  t.teardown(() => {
    q.close();
    MessageQueue.unlink(name);
  });
  return q;
}

t.test('a C sender and a Node receiver exchange prioritised messages', async (t) => {
  const q = queue(t);
  const r = await run(bin, ['send', q.name, '2:two', '9:nine', '0:zero', '9:nine-again', '5:five']);
  t.equal(r.code, 0, r.stderr);
  const got = [];
  for (let i = 0; i < 5; i++) {
    const m = await q.receive({ timeout: 5000 });
    got.push(`${m.priority} ${m.data.toString()}`);
  }
  t.same(got, ['9 nine', '9 nine-again', '5 five', '2 two', '0 zero']);
});

t.test('a Node sender and a C receiver exchange prioritised messages', async (t) => {
  const q = queue(t);
  q.sendSync('one', { priority: 1 });
  q.sendSync(Buffer.from('three'), { priority: 3 });
  await q.send('utf8 ✓', { priority: 2 });
  q.sendSync('zero');
  const r = await run(bin, ['receive', q.name, '4']);
  t.equal(r.code, 0, r.stderr);
  t.same(r.stdout.trim().split('\n'), ['3 three', '2 utf8 ✓', '1 one', '0 zero']);
});

t.test('a C sender wakes a Node receive that was already waiting', async (t) => {
  const q = queue(t);
  const pending = q.receive({ timeout: 10_000 });
  const r = await run(bin, ['send', q.name, '7:wake']);
  t.equal(r.code, 0, r.stderr);
  const m = await pending;
  t.same([m.priority, m.data.toString()], [7, 'wake']);
});

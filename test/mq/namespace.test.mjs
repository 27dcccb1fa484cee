// POSIX message queues live in the IPC namespace, not in the filesystem: a pod's
// containers (one IPC namespace, one mount namespace each) share them, and another
// IPC namespace (another pod) cannot see them.
import t from 'tap';
import { spawn } from 'node:child_process';
import { MessageQueue } from 'podshm';
import { fixture, run, uniqueName } from '../helpers.mjs';

const probe = await run('unshare', ['--ipc', '--mount', 'true']).catch((err) => ({ code: -1, stderr: String(err) }));
if (process.getuid() !== 0 || probe.code !== 0) {
  t.plan(0, `needs root and unshare --ipc --mount (${probe.stderr.trim() || 'not root'})`);
  process.exit(0);
}

const lines = (stdout) => stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
const peer = (...args) => [process.execPath, fixture('mq-peer.mjs'), ...args];

/** Starts `command` and resolves `ready` with the first JSON line it prints. */
function start(command, args) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const ready = new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      stdout += d;
      if (stdout.includes('\n')) resolve(JSON.parse(stdout.split('\n')[0]));
    });
    child.on('close', () => reject(new Error(`exited before ready: ${stderr}`)));
  });
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    }),
  );
  ready.catch(() => {});
  return { child, ready, done };
}

t.test('a queue is invisible from another IPC namespace, both ways', async (t) => {
  const name = uniqueName('mq-ns');
  const q = MessageQueue.create(name);
  t.teardown(() => {
    q.close();
    MessageQueue.unlink(name);
  });
  const r = await run('unshare', ['--ipc', ...peer('open', name)]);
  t.equal(r.code, 0, r.stderr);
  t.equal(lines(r.stdout)[0].code, 'ENOENT', 'a process in a new IPC namespace does not find our queue');

  // A queue made inside another namespace, under the same name: ours stays untouched.
  const other = start('unshare', ['--ipc', ...peer('wait-one', name)]);
  const info = await other.ready;
  t.not(info.ipc, (await run('readlink', ['/proc/self/ns/ipc'])).stdout.trim(), 'really another IPC namespace');
  q.sendSync('ours');
  const sent = await run('nsenter', ['--target', String(other.child.pid), '--ipc', '--', ...peer('send', name, '0:theirs')]);
  t.equal(sent.code, 0, sent.stderr);
  const r2 = await other.done;
  t.equal(r2.code, 0, r2.stderr);
  t.same(lines(r2.stdout).at(-1), { text: 'theirs' }, 'the namespace-local queue got the message sent inside that namespace');
  t.equal(q.receiveSync({ timeout: 0 }).data.toString(), 'ours', 'and ours has only our message');
  t.equal(q.attributes.currentMessages, 0);
});

t.test('two mount namespaces in one IPC namespace share a queue (containers of one pod)', async (t) => {
  const name = uniqueName('mq-pod');
  // "Container" A: its own IPC and mount namespaces (the pod's IPC namespace is A's).
  const a = start('unshare', ['--ipc', '--mount', '--propagation', 'private', ...peer('wait-one', name)]);
  const aInfo = await a.ready;
  // "Container" B: joins A's IPC namespace, with a mount namespace of its own.
  const enterB = (...args) => run('nsenter', ['--target', String(a.child.pid), '--ipc', '--', 'unshare', '--mount', '--propagation', 'private', ...peer(...args)]);
  const bOpen = await enterB('open', name);
  t.equal(bOpen.code, 0, bOpen.stderr);
  const bInfo = lines(bOpen.stdout)[0];
  t.equal(bInfo.code, 'ok', 'B opens the queue A created');
  t.equal(bInfo.ipc, aInfo.ipc, 'same IPC namespace');
  t.not(bInfo.mnt, aInfo.mnt, 'different mount namespaces');
  const bSend = await enterB('send', name, '4:from-b');
  t.equal(bSend.code, 0, bSend.stderr);
  const r = await a.done;
  t.equal(r.code, 0, r.stderr);
  t.same(lines(r.stdout).at(-1), { text: 'from-b' });
  t.throws(() => MessageQueue.open(name), { code: 'ENOENT' }, 'and the host namespace never saw it');
});

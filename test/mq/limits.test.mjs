// Queue limits are checked before mq_open, so a refusal names the limit, the numbers
// and the fix. Each case runs in a fresh IPC namespace (kernel defaults: msg_max 10,
// msgsize_max 8192, queues_max 256), and beside what the kernel itself answers.
import t from 'tap';
import * as fs from 'node:fs';
import { MessageQueue, MqueueLimitError, mqueueQueueBytes, probeLimits } from 'podshm';
import { fixture, run, uniqueName } from '../helpers.mjs';

const probe = await run('unshare', ['--ipc', 'true']).catch((err) => ({ code: -1, stderr: String(err) }));
if (process.getuid() !== 0 || probe.code !== 0) {
  t.plan(0, `needs root and unshare --ipc (${probe.stderr.trim() || 'not root'})`);
  process.exit(0);
}

const peer = (...args) => [process.execPath, fixture('mq-peer.mjs'), ...args];
// CAP_SYS_RESOURCE lets the kernel pass msg_max and msgsize_max; containers rarely have it.
const unprivileged = ['setpriv', '--inh-caps=-sys_resource', '--bounding-set=-sys_resource'];

async function inFreshNamespace(prefix, ...args) {
  const r = await run('unshare', ['--ipc', ...prefix, ...peer(...args)]);
  if (r.code !== 0) throw new Error(`peer failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1));
}

t.test('without CAP_SYS_RESOURCE: msg_max and msgsize_max refused before the kernel would', async (t) => {
  const tooMany = await inFreshNamespace(unprivileged, 'create', uniqueName('lim'), '11', '64');
  t.equal(tooMany.kernel, 'EINVAL', 'the kernel refuses 11 messages here');
  t.match(tooMany.podshm, { name: 'MqueueLimitError', code: 'EINVAL', limit: 'msg_max', requested: 11, allowed: 10 });
  t.match(tooMany.podshm.message, /maxMessages 11 is above .*msg_max of 10/);
  t.match(tooMany.podshm.message, /sysctl -w fs\.mqueue\.msg_max=11/);
  t.match(tooMany.podshm.message, /unsafe.*allowed-unsafe-sysctls/);

  const tooBig = await inFreshNamespace(unprivileged, 'create', uniqueName('lim'), '2', '8193');
  t.equal(tooBig.kernel, 'EINVAL');
  t.match(tooBig.podshm, { code: 'EINVAL', limit: 'msgsize_max', requested: 8193, allowed: 8192 });

  const atLimit = await inFreshNamespace(unprivileged, 'create', uniqueName('lim'), '10', '8192');
  t.same(atLimit, { podshm: 'ok', kernel: 'ok' }, 'exactly at the limits is fine for both');

  // The kernel looks for the name before the limits: an exclusive create of a queue that
  // exists is EEXIST whatever it asks for.
  const taken = await inFreshNamespace(unprivileged, 'create', uniqueName('lim'), '11', '64', 'existing');
  t.equal(taken.kernel, 'EEXIST');
  t.match(taken.podshm, { code: 'EEXIST' }, 'and so for podshm');
});

t.test('with CAP_SYS_RESOURCE the kernel allows more, and so do we (up to the hard limits)', async (t) => {
  const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1];
  const userns = fs.readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/).join(' ');
  if (((BigInt('0x' + capEff) >> 24n) & 1n) === 0n || userns !== '0 0 4294967295') {
    return t.skip('this process lacks CAP_SYS_RESOURCE in the initial user namespace');
  }
  const more = await inFreshNamespace([], 'create', uniqueName('lim'), '11', '64');
  t.same(more, { podshm: 'ok', kernel: 'ok' });
  const hard = await inFreshNamespace([], 'create', uniqueName('lim'), '65537', '1');
  t.equal(hard.kernel, 'EINVAL');
  t.match(hard.podshm, { code: 'EINVAL', limit: 'msg_max', requested: 65537, allowed: 65536 });
});

t.test('RLIMIT_MSGQUEUE: the queue cost is checked before mq_open', async (t) => {
  const cost = mqueueQueueBytes(10, 8192);
  t.equal(cost, 10 * 8192 + 10 * 96, 'maxMessages × (messageSize + msg_msg + tree node) on 64-bit');
  const r = await inFreshNamespace(['prlimit', '--msgqueue=50000:50000'], 'create', uniqueName('lim'), '10', '8192');
  t.equal(r.kernel, 'EMFILE', 'the kernel refuses it too');
  t.match(r.podshm, { name: 'MqueueLimitError', code: 'EMFILE', limit: 'RLIMIT_MSGQUEUE', requested: cost, allowed: 50000 });
  t.match(r.podshm.message, /at most 6 of 8192 bytes/);
  t.match(r.podshm.message, /ulimit -q/);
});

t.test('the cost formula is exactly the kernel\'s (fresh user namespace, so no other queue counts)', async (t) => {
  const userns = await run('unshare', ['--user', '--map-root-user', '--ipc', 'true']);
  if (userns.code !== 0) return t.skip(`needs unshare --user: ${userns.stderr.trim()}`);
  const cost = mqueueQueueBytes(5, 1000);
  const exact = await run('unshare', ['--user', '--map-root-user', '--ipc', 'prlimit', `--msgqueue=${cost}:${cost}`, ...peer('create', uniqueName('lim'), '5', '1000')]);
  t.same(JSON.parse(exact.stdout), { podshm: 'ok', kernel: 'ok' }, exact.stderr);
  const less = await run('unshare', ['--user', '--map-root-user', '--ipc', 'prlimit', `--msgqueue=${cost - 1}:${cost - 1}`, ...peer('create', uniqueName('lim'), '5', '1000')]);
  const r = JSON.parse(less.stdout);
  t.equal(r.kernel, 'EMFILE', 'one byte less and the kernel refuses');
  t.match(r.podshm, { code: 'EMFILE', limit: 'RLIMIT_MSGQUEUE', requested: cost, allowed: cost - 1 });
});

t.test('queues_max: the kernel refusal (ENOSPC) is explained with the numbers', async (t) => {
  const r = await run('unshare', ['--ipc', 'sh', '-c', 'echo 2 > /proc/sys/fs/mqueue/queues_max && exec "$@"', 'sh', ...unprivileged, ...peer('fill', uniqueName('lim'), '5')]);
  t.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  t.equal(out.made, 2);
  t.match(out.error, { name: 'MqueueLimitError', code: 'ENOSPC', limit: 'queues_max', allowed: 2 });
  t.match(out.error.message, /queues_max = 2 queues/);
});

t.test('probeLimits().mqueue reports this namespace', async (t) => {
  const m = probeLimits().mqueue;
  t.type(m.msgMax, 'number');
  t.type(m.msgsizeMax, 'number');
  t.ok(MqueueLimitError.prototype instanceof Error);
  // Defaults come from the namespace: creating without sizes gets msg_default and msgsize_default.
  const name = uniqueName('lim-default');
  const q = MessageQueue.create(name);
  t.teardown(() => {
    q.close();
    MessageQueue.unlink(name);
  });
  t.equal(q.maxMessages, Math.min(m.msgDefault, m.msgMax));
  t.equal(q.messageSize, Math.min(m.msgsizeDefault, m.msgsizeMax));
});

// The fix an MqueueLimitError advises is one the kernel takes and that then holds the
// queue: for a grid of requests and limits, the advised fs.mqueue values stay within the
// kernel's ranges and pass the same check that refused; a request above a hard maximum
// is told that no setting holds it, and what to do instead. Then for real: the advice in
// an error's message, applied in a fresh IPC namespace, lets the kernel create the queue.
import t from 'tap';
import { internal } from '../internal.mjs';
import { fixture, run, uniqueName } from '../helpers.mjs';

const { HARD_MSGMAX, HARD_MSGSIZEMAX, checkQueueLimits, queueAdvice } = internal('capacity/mq');
const MiB = 1024 * 1024;

const refusal = (fn) => {
  try {
    fn();
    return null;
  } catch (err) {
    return err;
  }
};

t.test('every request: advice within the kernel\'s ranges that passes the check, or "no setting holds it"', async (t) => {
  const counts = [1, 10, 11, 1000, HARD_MSGMAX, HARD_MSGMAX + 1, 100_000];
  const sizes = [1, 128, 8192, 8193, MiB, HARD_MSGSIZEMAX, HARD_MSGSIZEMAX + 1];
  const namespaces = [
    { msgMax: 10, msgsizeMax: 8192, queuesMax: 256, msgDefault: 10, msgsizeDefault: 8192, rlimitMsgqueue: 819200 },
    { msgMax: 1000, msgsizeMax: MiB, queuesMax: 256, msgDefault: 10, msgsizeDefault: 8192, rlimitMsgqueue: null },
    { msgMax: HARD_MSGMAX, msgsizeMax: HARD_MSGSIZEMAX, queuesMax: 1024, msgDefault: 10, msgsizeDefault: 8192, rlimitMsgqueue: 50_000 },
    { msgMax: null, msgsizeMax: null, queuesMax: null, msgDefault: null, msgsizeDefault: null, rlimitMsgqueue: null },
  ];
  const failures = [];
  let impossible = 0;
  let fixed = 0;
  for (const count of counts) {
    for (const size of sizes) {
      for (const limits of namespaces) {
        for (const privileged of [false, true]) {
          const what = `${count} x ${size} bytes, msg_max ${limits.msgMax}, msgsize_max ${limits.msgsizeMax}, RLIMIT ${limits.rlimitMsgqueue}${privileged ? ', CAP_SYS_RESOURCE' : ''}`;
          const advice = queueAdvice(count, size, limits, privileged);
          const err = refusal(() => checkQueueLimits('/q', count, size, limits, privileged));
          if (advice.impossible !== null) {
            impossible++;
            const above = count > HARD_MSGMAX ? 'HARD_MSGMAX' : size > HARD_MSGSIZEMAX ? 'HARD_MSGSIZEMAX' : null;
            if (advice.impossible !== above) failures.push(`${what}: impossible by ${advice.impossible}, but above ${above}`);
            if (err === null) failures.push(`${what}: above a hard maximum, yet not refused`);
            else {
              if (!/no setting can hold this queue/.test(err.message) || !/several queues/.test(err.message) || !/Channel/.test(err.message)) failures.push(`${what}: ${err.message}`);
              if (/sysctl -w/.test(err.message)) failures.push(`${what}: advises a sysctl: ${err.message}`);
            }
            continue;
          }
          const { msg_max: msgMax, msgsize_max: msgsizeMax } = advice.sysctls;
          if (msgMax !== undefined && !(msgMax >= 1 && msgMax <= HARD_MSGMAX)) failures.push(`${what}: msg_max ${msgMax} out of the kernel's range`);
          if (msgsizeMax !== undefined && !(msgsizeMax >= 128 && msgsizeMax <= HARD_MSGSIZEMAX)) failures.push(`${what}: msgsize_max ${msgsizeMax} out of the kernel's range`);
          const after = {
            ...limits,
            msgMax: msgMax ?? limits.msgMax,
            msgsizeMax: msgsizeMax ?? limits.msgsizeMax,
            rlimitMsgqueue: advice.rlimit ?? limits.rlimitMsgqueue,
          };
          const still = refusal(() => checkQueueLimits('/q', count, size, after, privileged));
          if (still !== null) failures.push(`${what}: still refused after the advice: ${still.message}`);
          if (err !== null) {
            fixed++;
            // The message names the whole fix, not only the first limit in the way.
            for (const [key, value] of Object.entries(advice.sysctls)) {
              if (!err.message.includes(`fs.mqueue.${key}=${value}`)) failures.push(`${what}: the message leaves out ${key}=${value}: ${err.message}`);
            }
            if (advice.rlimit !== null && !err.message.includes(`at least ${advice.rlimit} bytes`)) failures.push(`${what}: the message leaves out RLIMIT ${advice.rlimit}: ${err.message}`);
          } else if (Object.keys(advice.sysctls).length > 0 || advice.rlimit !== null) {
            failures.push(`${what}: advice for a queue that was not refused`);
          }
        }
      }
    }
  }
  t.same(failures, [], `${counts.length * sizes.length * namespaces.length * 2} cases`);
  t.ok(impossible > 0 && fixed > 0, `the grid holds both kinds of refusal (${impossible} above a hard maximum, ${fixed} fixable)`);
});

t.test('the reported case: 100000 messages is above what any setting allows', async (t) => {
  const limits = { msgMax: 10, msgsizeMax: 8192, queuesMax: 256, msgDefault: 10, msgsizeDefault: 8192, rlimitMsgqueue: null };
  const err = refusal(() => checkQueueLimits('/jobs', 100_000, 64, limits, false));
  t.match(err, { name: 'MqueueLimitError', code: 'EINVAL', limit: 'msg_max', requested: 100_000, allowed: 10 });
  t.notMatch(err.message, /msg_max=100000/, 'no sysctl the kernel would refuse');
  t.match(err.message, /ask for at most 10 here \(fs\.mqueue\.msg_max can be raised to 65536, no further\)/);
});

const probe = await run('unshare', ['--ipc', 'true']).catch((err) => ({ code: -1, stderr: String(err) }));
const why = process.getuid() !== 0 || probe.code !== 0 ? `needs root and unshare --ipc (${probe.stderr.trim() || 'not root'})` : false;
// A user of its own: RLIMIT_MSGQUEUE counts every queue of a user, and other tests'
// queues would count against root's. No capabilities, as in a container.
const uid = String(40_000 + (process.pid % 20_000));
// Without the runner's NODE_OPTIONS, whose hooks write where this user may not.
const asUser = ['env', '-u', 'NODE_OPTIONS', 'setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups'];
const peer = (...args) => [process.execPath, fixture('mq-peer.mjs'), ...args];

t.test('the kernel takes the advised values, and not one above its hard maximum', { skip: why }, async (t) => {
  const sysctl = (assignments) => run('unshare', ['--ipc', 'sysctl', '-qw', ...assignments]);
  t.equal((await sysctl([`fs.mqueue.msg_max=${HARD_MSGMAX}`, `fs.mqueue.msgsize_max=${HARD_MSGSIZEMAX}`])).code, 0, 'the hard maxima are accepted');
  t.not((await sysctl([`fs.mqueue.msg_max=${HARD_MSGMAX + 1}`])).code, 0, 'one message more is refused');
  t.not((await sysctl([`fs.mqueue.msgsize_max=${HARD_MSGSIZEMAX + 1}`])).code, 0, 'one byte more is refused');

  // 20 messages of 16 KiB under the defaults of a fresh namespace (10, 8192) and a soft
  // RLIMIT_MSGQUEUE of 100000 bytes; the hard limit stays, so the soft one can be raised
  // without CAP_SYS_RESOURCE.
  const name = uniqueName('advice');
  const first = await run('unshare', ['--ipc', 'prlimit', '--msgqueue=100000:819200', ...asUser, ...peer('create', name, '20', '16384')]);
  t.equal(first.code, 0, first.stderr);
  const refused = JSON.parse(first.stdout);
  t.equal(refused.kernel, 'EINVAL', 'the kernel refuses it too');
  const message = refused.podshm.message;
  const msgMax = /fs\.mqueue\.msg_max=(\d+)/.exec(message)?.[1];
  const msgsizeMax = /fs\.mqueue\.msgsize_max=(\d+)/.exec(message)?.[1];
  const rlimit = /at least (\d+) bytes/.exec(message)?.[1];
  t.ok(msgMax && msgsizeMax && rlimit, `the message names all three: ${message}`);

  const script = `sysctl -qw fs.mqueue.msg_max=${msgMax} fs.mqueue.msgsize_max=${msgsizeMax} && exec "$@"`;
  const applied = await run('unshare', ['--ipc', 'sh', '-c', script, 'sh', 'prlimit', `--msgqueue=${rlimit}:819200`, ...asUser, ...peer('create', name, '20', '16384')]);
  t.equal(applied.code, 0, applied.stderr);
  t.same(JSON.parse(applied.stdout), { podshm: 'ok', kernel: 'ok' }, 'with the advice applied, podshm and the kernel both create it');
});

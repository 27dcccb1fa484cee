// The podshm command outside any pod: arguments, exit statuses, one-line errors, the
// doctor's JSON shape; ls, rm and gc on real objects whose participants are SIGKILLed.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { spawn } from 'node:child_process';
import { Channel, MessageQueue, SharedMemory } from 'podshm';
import { fixture, run, uniqueName, within } from '../helpers.mjs';

const require = createRequire(import.meta.url);
const cli = fileURLToPath(new URL('../../dist/cjs/cli/main.js', import.meta.url));
const podshm = (args, opts) => run(process.execPath, [cli, ...args], opts);

/** A page whose first 32-bit word is `magic`: how podshm's layouts (lib/magic.ts) begin. */
const word = (magic) => {
  const b = Buffer.alloc(4096);
  b.writeUInt32LE(magic, 0);
  return b;
};

// A real participant (fixtures/gc-participant.mjs) in another process, once it takes part.
async function participant(t, role, name, dir) {
  const child = spawn(process.execPath, [fixture('gc-participant.mjs'), role, name, dir], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.teardown(() => child.kill('SIGKILL'));
  await within(new Promise((resolve, reject) => {
    child.stdout.once('data', (d) => (String(d) === 'ready\n' ? resolve() : reject(new Error(String(d)))));
    child.once('exit', (code) => reject(new Error(`${role} ${name} exited with ${code}`)));
  }), `${role} of ${name} taking part`);
  return child;
}

// `podshm ARGS` as user 65534, without the test runner's NODE_OPTIONS: its hooks write
// into the runner's own directory at exit, and EACCES there would set the exit status
// the test is about.
const asNobody = ['env', '-u', 'NODE_OPTIONS', 'setpriv', '--reuid', '65534', '--regid', '65534', '--clear-groups', process.execPath, cli];

const killed = (child) => new Promise((resolve) => {
  child.once('exit', resolve);
  child.kill('SIGKILL');
});

const oneLine = (t, r, pattern) => {
  t.equal(r.stdout, '', 'nothing on stdout');
  t.equal(r.stderr.split('\n').filter(Boolean).length, 1, `one line on stderr: ${r.stderr}`);
  t.match(r.stderr, pattern);
};

t.test('bad arguments: exit 2 and one clear line', async (t) => {
  const cases = [
    [['doctor', '--bogus'], /^podshm: doctor: Unknown option '--bogus' \(usage: podshm doctor \[--json\] \[--dir PATH\]\)\n$/],
    [['rm'], /^podshm: rm: nothing to do \(usage: podshm rm /],
    [['gc', '--min-age=-1'], /^podshm: gc: --min-age must be a number of seconds >= 0, not '-1'/],
  ];
  const results = await Promise.all(cases.map(([args]) => podshm(args)));
  cases.forEach(([args, pattern], i) => {
    t.equal(results[i].code, 2, args.join(' '));
    oneLine(t, results[i], pattern);
  });
  const unknown = await podshm(['frobnicate']);
  t.equal(unknown.code, 2);
  oneLine(t, unknown, /^podshm: unknown command 'frobnicate' \(podshm --help lists the commands\)\n$/);
  const cannot = await podshm(['gc', '--dir', '/nonexistent/podshm']);
  t.equal(cannot.code, 3, 'a directory that cannot be read: the command could not do its work');
  oneLine(t, cannot, /^podshm: gc: cannot list \/nonexistent\/podshm: ENOENT/);
});

t.test('every bad argument is a UsageError with the usage, before anything is done', async (t) => {
  const load = (cmd) => require(fileURLToPath(new URL(`../../dist/cjs/cli/${cmd}.js`, import.meta.url)));
  for (const [cmd, args, pattern] of [
    ['doctor', ['extra'], /^doctor: .*'extra'.*\(usage: /],
    ['doctor', ['--dir'], /^doctor: Option '--dir <value>' argument missing/],
    ['doctor', ['--dir='], /^doctor: --dir needs a path/],
    ['ls', ['-x'], /^ls: Unknown option '-x'/],
    ['ls', ['--dir='], /^ls: --dir needs a path/],
    ['rm', ['--json', 'x'], /^rm: Unknown option '--json'/],
    ['gc', ['--min-age', 'soon'], /^gc: --min-age must be a number of seconds >= 0, not 'soon'/],
    ['gc', ['--min-age='], /^gc: --min-age must be a number/],
    ['gc', ['now'], /^gc: .*'now'.*\(usage: podshm gc /],
  ]) {
    t.throws(() => load(cmd).run(args), { name: 'UsageError', code: 'ERR_USAGE', message: pattern }, `${cmd} ${args.join(' ')}`);
  }
});

t.test('doctor --json: the documented shape, and exit 3 without a usable directory', async (t) => {
  const r = await podshm(['doctor', '--json']);
  const report = JSON.parse(r.stdout);
  t.equal(r.code, report.exitCode);
  t.same(Object.keys(report).sort(), ['cgroup', 'emptyDir', 'exitCode', 'findings', 'ipcNamespace', 'kubernetes', 'mqueue', 'schemaVersion', 'shm', 'status', 'sysv']);
  t.same(Object.keys(report.shm).sort(), ['containerDefault', 'error', 'exists', 'free', 'fsType', 'limited', 'memoryBacked', 'path', 'size', 'used', 'writable']);
  t.same(Object.keys(report.mqueue).sort(), ['msgDefault', 'msgMax', 'msgsizeDefault', 'msgsizeMax', 'queuesMax', 'rlimitMsgqueue']);
  t.same(Object.keys(report.sysv).sort(), ['pageSize', 'shmall', 'shmmax', 'shmmni']);
  for (const f of report.findings) t.match(f, { severity: /^(error|warning|info)$/, code: /^[A-Z_]+$/, message: String });
  t.equal(report.shm.size, fs.statfsSync('/dev/shm').blocks * fs.statfsSync('/dev/shm').bsize, 'the size statfs gives');

  const k8s = JSON.parse((await podshm(['doctor', '--json'], { env: { KUBERNETES_SERVICE_HOST: '10.96.0.1' } })).stdout);
  t.match(k8s.kubernetes, { detected: true, evidence: ['KUBERNETES_SERVICE_HOST'] }, 'the kubelet\'s service variables give it away');

  const missing = path.join(os.tmpdir(), uniqueName('nodir').slice(1));
  const m = await podshm(['doctor', '--json', '--dir', missing]);
  t.equal(m.code, 3);
  t.match(JSON.parse(m.stdout), { status: 'unusable', shm: { path: missing, exists: false, writable: false, error: /ENOENT/ }, findings: [{ severity: 'error', code: 'SHM_MISSING' }] });
  const file = await podshm(['doctor', '--json', '--dir', '/etc/passwd']);
  t.equal(file.code, 3, 'a file is not a directory for objects');
  t.match(JSON.parse(file.stdout), { shm: { exists: false, error: /ENOTDIR/ }, findings: [{ code: 'SHM_MISSING' }] });
  const text = await podshm(['doctor', '--dir', missing]);
  t.equal(text.code, 3);
  t.match(text.stdout, /^podshm doctor: shared memory is unusable \(1 error\)/);
});

t.test('doctor on a directory that is not memory: a warning', async (t) => {
  const dir = fs.mkdtempSync(path.join(path.dirname(cli), '.doctor-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  if (['tmpfs', 'ramfs'].includes(JSON.parse((await podshm(['doctor', '--json', '--dir', dir])).stdout).shm.fsType)) {
    t.skip('the build directory is itself on tmpfs here');
    return;
  }
  const r = await podshm(['doctor', '--json', '--dir', dir]);
  const report = JSON.parse(r.stdout);
  t.match(report.shm, { memoryBacked: false, writable: true });
  t.ok(report.findings.some((f) => f.code === 'SHM_NOT_MEMORY' && f.severity === 'warning'));
  t.ok(r.code >= 1);
});

t.test('ls --dir and gc --dir on real objects: kinds, sizes, live participants, SIGKILLed ones', async (t) => {
  // A directory like a Memory emptyDir (any user may create in it), on tmpfs.
  const dir = fs.mkdtempSync('/dev/shm/podshm-test-ls-');
  fs.chmodSync(dir, 0o777);
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const [role, name] of [['create-channel', '/dead'], ['create-channel', '/live'], ['create-channel', '/unused'], ['create-semaphore', '/sem'], ['create-mutex', '/mutex']]) {
    const r = await run(process.execPath, [fixture('gc-participant.mjs'), role, name, dir]);
    t.equal(r.code, 0, `${role} ${name}: ${r.stderr}`);
  }
  SharedMemory.create('/plain', 4096, { dir }).close();
  // Odd files: what ls skips, or lists as plain.
  fs.writeFileSync(path.join(dir, 'other'), word(0x12345678));
  fs.writeFileSync(path.join(dir, 'short'), Buffer.from([0x50, 0x53]));
  fs.writeFileSync(path.join(dir, 'empty'), '');
  fs.symlinkSync('/etc/passwd', path.join(dir, 'link'));
  fs.mkdirSync(path.join(dir, 'subdir'));
  spawnSync('mkfifo', [path.join(dir, 'fifo')]);
  fs.chmodSync(path.join(dir, 'live'), 0o640);

  const doomedSender = await participant(t, 'sender', '/dead', dir);
  const doomedReceiver = await participant(t, 'receiver', '/dead', dir);
  const liveSender = await participant(t, 'sender', '/live', dir);
  await participant(t, 'receiver', '/live', dir);
  const doomedHolder = await participant(t, 'holder', '/mutex', dir);
  const ls = async () => {
    const r = await podshm(['ls', '--json', '--dir', dir]);
    t.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout).posix.objects;
  };
  const size = (name) => fs.statSync(path.join(dir, name)).size;
  const before = await ls();
  t.same(before.map((o) => [o.name, o.kind, o.size]), [
    ['/dead', 'channel', size('dead')],
    ['/empty', 'plain', 0],
    ['/live', 'channel', size('live')],
    ['/mutex', 'mutex', size('mutex')],
    ['/other', 'plain', 4096],
    ['/plain', 'plain', 4096],
    ['/sem', 'semaphore', size('sem')],
    ['/short', 'plain', 2],
    ['/unused', 'channel', size('unused')],
  ], 'each real object by its kind; the odd files as plain, or skipped');
  t.ok(size('live') > 4096, 'a channel is its header and its ring');
  t.equal(before.find((o) => o.name === '/live').mode, '0640');
  t.same(before.map((o) => o.live), [2, null, 2, 1, null, null, null, null, 0], 'a sender and a receiver in each used channel, the holder of the mutex');

  for (const child of [doomedSender, doomedReceiver, doomedHolder]) await killed(child);
  // One of the live channel's participants leaves cleanly.
  liveSender.stdin.end();
  await new Promise((resolve) => liveSender.once('exit', resolve));
  t.same((await ls()).map((o) => o.live), [0, null, 1, 0, null, null, null, null, 0], 'the SIGKILLed and the departed no longer count');

  const gc = async (...args) => {
    const r = await podshm(['gc', '--json', '--dir', dir, ...args]);
    t.equal(r.stderr, '');
    return { code: r.code, byName: Object.fromEntries(JSON.parse(r.stdout).objects.map((o) => [o.name, o])) };
  };
  const young = await gc('--min-age', '3600');
  t.equal(young.code, 0);
  t.match(young.byName['/dead'], { action: 'kept', reason: 'new' }, 'younger than --min-age: left to its creator');
  const dry = await gc('--dry-run', '--min-age', '0');
  t.same(Object.keys(dry.byName).sort(), ['/dead', '/live', '/mutex', '/sem', '/unused'], 'gc judges podshm objects only');
  t.match(dry.byName, {
    '/dead': { action: 'would-remove', kind: 'channel' },
    '/live': { action: 'kept', reason: 'live' },
    '/unused': { action: 'would-remove' },
    '/sem': { action: 'kept', reason: 'unregistered', kind: 'semaphore' },
    '/mutex': { action: 'kept', reason: 'unregistered', kind: 'mutex' },
  });
  t.ok(fs.existsSync(path.join(dir, 'dead')) && fs.existsSync(path.join(dir, 'dead.bell')), '--dry-run removed nothing');
  const real = await gc('--min-age', '0');
  t.equal(real.code, 0);
  t.match(real.byName, { '/dead': { action: 'removed' }, '/unused': { action: 'removed' }, '/live': { action: 'kept', reason: 'live' } });
  t.same(fs.readdirSync(dir).filter((f) => !['other', 'short', 'empty', 'link', 'subdir', 'fifo'].includes(f)).sort(), ['live', 'live.bell', 'mutex', 'plain', 'sem'],
    'the dead channels went with their bells; the live one, the semaphore, the mutex and the plain object stayed');
  t.doesNotThrow(() => Channel.open('/live', { dir }).close(), 'the live channel still opens');
});

t.test('rm: removes what it is given, one line per failure, exit 1 if any failed', async (t) => {
  const a = uniqueName('rm-a');
  const b = uniqueName('rm-b');
  for (const n of [a, b]) SharedMemory.create(n, 4096).close();
  t.teardown(() => {
    for (const n of [a, b]) fs.rmSync(path.join('/dev/shm', n), { force: true });
  });
  const missing = uniqueName('rm-missing');
  const r = await podshm(['rm', a, missing, b.slice(1), 'bad/name']);
  t.equal(r.code, 1);
  t.equal(r.stdout, `removed ${a}\nremoved ${b}\n`, 'names with or without the slash');
  const lines = r.stderr.trim().split('\n');
  t.equal(lines.length, 2);
  t.match(lines[0], `podshm rm: ENOENT: No such file or directory, unlink '${missing}'`);
  t.match(lines[1], /^podshm rm: EINVAL: invalid name/);
  t.notOk(fs.existsSync(path.join('/dev/shm', a.slice(1))));
  t.notOk(fs.existsSync(path.join('/dev/shm', b.slice(1))));
  const ok = await podshm(['rm', uniqueName('rm-gone')]);
  t.equal(ok.code, 1);
});

t.test('rm without --force keeps what it cannot judge or what is in use: a semaphore, a mutex, a live channel, an object it cannot read', async (t) => {
  const dir = fs.mkdtempSync('/dev/shm/podshm-test-rm-');
  fs.chmodSync(dir, 0o777); // as a Memory emptyDir: any user may unlink in it
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const [role, name] of [['create-semaphore', '/sem'], ['create-mutex', '/mutex'], ['create-channel', '/chan']]) {
    const r = await run(process.execPath, [fixture('gc-participant.mjs'), role, name, dir]);
    t.equal(r.code, 0, `${role} ${name}: ${r.stderr}`);
  }
  const user = await participant(t, 'receiver', '/chan', dir);
  let r = await podshm(['rm', '--dir', dir, 'sem', 'mutex', 'chan']);
  t.equal(r.code, 1);
  t.match(r.stderr, /EBUSY: a semaphore does not record who has it open/);
  t.match(r.stderr, /EBUSY: a mutex does not record who has it open/);
  t.match(r.stderr, /EBUSY: in use by 1 live participant \(--force removes it anyway\), unlink '\/chan'/);
  t.same(fs.readdirSync(dir).sort(), ['chan', 'chan.bell', 'mutex', 'sem'], 'all kept');
  await killed(user);
  r = await podshm(['rm', '--dir', dir, 'chan']);
  t.equal(r.code, 0, `a channel whose participant was SIGKILLed goes without --force: ${r.stderr}`);
  r = await podshm(['rm', '--dir', dir, '--force', 'sem', 'mutex']);
  t.equal(r.code, 0, r.stderr);
  t.same(fs.readdirSync(dir), [], '--force removes them; the channel went with its bell');

  if (process.getuid?.() !== 0) return;
  // A channel this user may not open (mode 0600, another owner): it cannot tell whether
  // it is live, so it keeps it.
  Channel.create('/private', { capacity: 4096, dir, mode: 0o600 }).close();
  r = await run(asNobody[0], [...asNobody.slice(1), 'rm', '--dir', dir, 'private']);
  t.equal(r.code, 1, r.stderr);
  t.match(r.stderr, /EACCES: cannot read it to tell what it is/);
  t.ok(fs.existsSync(path.join(dir, 'private')), 'kept');
});

t.test('gc exits 1 when it cannot remove an abandoned object, and says why on stderr', { skip: process.getuid?.() !== 0 && 'needs root to run as another user' }, async (t) => {
  // An abandoned channel another user may read but not unlink (the directory is root's, 0755).
  const dir = fs.mkdtempSync('/dev/shm/podshm-test-gcfail-');
  fs.chmodSync(dir, 0o755);
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  Channel.create('/stuck', { capacity: 4096, dir, mode: 0o644 }).close();
  const gcAsNobody = (args) => run(asNobody[0], [...asNobody.slice(1), 'gc', '--min-age', '0', '--dir', dir, ...args]);
  const text = await gcAsNobody([]);
  t.equal(text.code, 1, 'exit 1');
  t.match(text.stderr, /^failed \/stuck \(channel, [\d.]+ KiB\): .*EACCES/m);
  t.match(text.stdout, /, 1 failed\n$/);
  const json = await gcAsNobody(['--json']);
  t.equal(json.code, 1, 'exit 1 with --json too');
  t.match(JSON.parse(json.stdout).objects, [{ name: '/stuck', action: 'failed', reason: /EACCES/ }]);
  t.ok(fs.existsSync(path.join(dir, 'stuck')), 'still there');
  const ok = await run(process.execPath, [cli, 'gc', '--min-age', '0', '--dir', dir]);
  t.equal(ok.code, 0, 'and one who may remove it does');
});

t.test("ls lists another user's 0600 message queue without its byte count", { skip: process.getuid?.() !== 0 && 'needs root to run as another user' }, async (t) => {
  const [closed, open] = [uniqueName('mqpriv'), uniqueName('mqpub')];
  const priv = MessageQueue.create(closed, { mode: 0o600 });
  const pub = MessageQueue.create(open, { mode: 0o644 });
  t.teardown(() => (priv.close(), pub.close(), MessageQueue.unlink(closed), MessageQueue.unlink(open)));
  priv.sendSync('twelve bytes');
  pub.sendSync('hi!');
  // ls reads /dev/mqueue; this machine may have none: mount one in a private /dev that
  // keeps /dev/shm.
  const keep = fs.mkdtempSync(path.join(os.tmpdir(), 'podshm-dev-'));
  t.teardown(() => fs.rmdirSync(keep));
  const r = await run('unshare', ['--mount', '--propagation', 'private', 'sh', '-c',
    `mount --bind /dev/shm ${keep} && mount -t tmpfs -o size=1m,mode=755 podshm-dev /dev && mkdir /dev/shm /dev/mqueue && mount --move ${keep} /dev/shm && mount -t mqueue podshm-mq /dev/mqueue && exec "$@"`, 'sh',
    ...asNobody, 'ls', '--json']);
  t.equal(r.code, 0, r.stderr);
  const { mqueue } = JSON.parse(r.stdout);
  t.equal(mqueue.source, '/dev/mqueue');
  const seen = Object.fromEntries(mqueue.queues.map((q) => [q.name, q]));
  t.match(seen[closed], { mode: '0600', owner: 'root', queuedBytes: null }, 'a queue it may not open: listed, no byte count');
  t.match(seen[open], { mode: '0644', owner: 'root', queuedBytes: 3 }, 'a queue it may open: its bytes');
});

// The podshm command outside any pod: arguments, exit statuses, one-line errors, the
// doctor's JSON shape, ls on a directory of hand-made objects, rm.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { SharedMemory } from 'podshm';
import { run, uniqueName } from '../helpers.mjs';

const require = createRequire(import.meta.url);
const cli = fileURLToPath(new URL('../../dist/cjs/cli/main.js', import.meta.url));
const podshm = (args, opts) => run(process.execPath, [cli, ...args], opts);

/** A page whose first 32-bit word is `magic`: how podshm's layouts (lib/magic.ts) begin. */
const word = (magic) => {
  const b = Buffer.alloc(4096);
  b.writeUInt32LE(magic, 0);
  return b;
};

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
    [['gc', '--dir', '/nonexistent/podshm'], /^podshm: gc: cannot list \/nonexistent\/podshm: ENOENT/],
  ];
  const results = await Promise.all(cases.map(([args]) => podshm(args)));
  cases.forEach(([args, pattern], i) => {
    t.equal(results[i].code, 2, args.join(' '));
    oneLine(t, results[i], pattern);
  });
  const unknown = await podshm(['frobnicate']);
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, /^podshm: unknown command 'frobnicate'\n/);
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

t.test('doctor --json: the documented shape, and exit 2 without a usable directory', async (t) => {
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
  t.equal(m.code, 2);
  t.match(JSON.parse(m.stdout), { status: 'unusable', shm: { path: missing, exists: false, writable: false, error: /ENOENT/ }, findings: [{ severity: 'error', code: 'SHM_MISSING' }] });
  const file = await podshm(['doctor', '--json', '--dir', '/etc/passwd']);
  t.equal(file.code, 2, 'a file is not a directory for objects');
  t.match(JSON.parse(file.stdout), { shm: { exists: false, error: /ENOTDIR/ }, findings: [{ code: 'SHM_MISSING' }] });
  const text = await podshm(['doctor', '--dir', missing]);
  t.equal(text.code, 2);
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

t.test('ls --dir: kinds from the magic word, odd files skipped or plain', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podshm-ls-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'chan'), word(0x43485350));
  fs.writeFileSync(path.join(dir, 'sem'), word(0x53485350));
  fs.writeFileSync(path.join(dir, 'mutex'), word(0x4d485350));
  fs.writeFileSync(path.join(dir, 'other'), word(0x12345678));
  fs.writeFileSync(path.join(dir, 'short'), Buffer.from([0x50, 0x53]));
  fs.writeFileSync(path.join(dir, 'empty'), '');
  fs.chmodSync(path.join(dir, 'chan'), 0o640);
  fs.symlinkSync('/etc/passwd', path.join(dir, 'link'));
  fs.mkdirSync(path.join(dir, 'subdir'));
  spawnSync('mkfifo', [path.join(dir, 'fifo')]);
  const r = await podshm(['ls', '--json', '--dir', dir]);
  t.equal(r.code, 0, r.stderr);
  const objects = JSON.parse(r.stdout).posix.objects;
  t.same(objects.map((o) => [o.name, o.kind, o.size]), [
    ['/chan', 'channel', 4096],
    ['/empty', 'plain', 0],
    ['/mutex', 'mutex', 4096],
    ['/other', 'plain', 4096],
    ['/sem', 'semaphore', 4096],
    ['/short', 'plain', 2],
  ]);
  t.equal(objects[0].mode, '0640');
  t.same(objects.map((o) => o.live), [0, null, 0, null, null, null], 'live counts only for kinds that take liveness locks');

  const missing = await podshm(['ls', '--dir', path.join(dir, 'nope')]);
  t.equal(missing.code, 2, 'an unreadable directory is an error');
  t.match(missing.stdout, /POSIX shared memory in .*nope: ENOENT/);
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

t.test('rm without --force keeps what it cannot judge: a semaphore, a mutex, an object it cannot read', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podshm-rm-'));
  fs.chmodSync(dir, 0o777); // as a Memory emptyDir: any user may unlink in it
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'sem'), word(0x53485350));
  fs.writeFileSync(path.join(dir, 'mutex'), word(0x4d485350));
  let r = await podshm(['rm', '--dir', dir, 'sem', 'mutex']);
  t.equal(r.code, 1);
  t.match(r.stderr, /EBUSY: a semaphore does not record who has it open/);
  t.match(r.stderr, /EBUSY: a mutex does not record who has it open/);
  t.ok(fs.existsSync(path.join(dir, 'sem')) && fs.existsSync(path.join(dir, 'mutex')), 'both kept');
  r = await podshm(['rm', '--dir', dir, '--force', 'sem', 'mutex']);
  t.equal(r.code, 0, r.stderr);
  t.same(fs.readdirSync(dir), [], '--force removes them');

  if (process.getuid?.() !== 0) return;
  // A channel this user may not open (mode 0600, another owner): it cannot tell whether
  // it is live, so it keeps it.
  fs.writeFileSync(path.join(dir, 'chan'), word(0x43485350), { mode: 0o600 });
  r = await run('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', process.execPath, cli, 'rm', '--dir', dir, 'chan']);
  t.equal(r.code, 1, r.stderr);
  t.match(r.stderr, /EACCES: cannot read it to tell what it is/);
  t.ok(fs.existsSync(path.join(dir, 'chan')), 'kept');
});

t.test("ls lists another user's message queue it cannot read, without its byte count", { skip: process.getuid?.() !== 0 && 'needs root to run as another user' }, async (t) => {
  // The reader of an mqueue mount reads files like these: QSIZE and NOTIFY_PID only for
  // those who may open the queue.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podshm-mqview-'));
  fs.chmodSync(dir, 0o755);
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'open'), 'QSIZE:12 NOTIFY:0 SIGNO:0 NOTIFY_PID:0\n', { mode: 0o644 });
  fs.writeFileSync(path.join(dir, 'private'), 'QSIZE:99 NOTIFY:0 SIGNO:0 NOTIFY_PID:0\n', { mode: 0o600 });
  const view = fileURLToPath(new URL('../../dist/cjs/platform/mq_view.js', import.meta.url));
  const r = await run('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', process.execPath, view, dir]);
  t.equal(r.code, 0, r.stderr);
  t.same(JSON.parse(r.stdout).map((q) => [q.name, q.queuedBytes]), [['/open', 12], ['/private', null]]);
});

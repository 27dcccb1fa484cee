// The podshm command as a user meets it, run for real in child processes: --help for
// every command, --version, a suggestion for a misspelled command or flag, and the same
// exit statuses everywhere (docs/cli.md, "Exit status"), with docs/cli.md in step.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { SharedMemory } from 'podshm';
import { run, uniqueName } from '../helpers.mjs';

const cli = fileURLToPath(new URL('../../dist/cjs/cli/main.js', import.meta.url));
const podshm = (...args) => run(process.execPath, [cli, ...args]);
const docs = fs.readFileSync(new URL('../../docs/cli.md', import.meta.url), 'utf8');
const { version } = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
const COMMANDS = ['demo', 'doctor', 'ls', 'rm', 'gc', 'webhook', 'top', 'metrics'];

/** A usage error: exit 2, nothing on stdout, one line on stderr. */
function usageError(t, r, pattern, what) {
  t.equal(r.code, 2, `${what}: exit 2`);
  t.equal(r.stdout, '', `${what}: nothing on stdout`);
  t.equal(r.stderr.split('\n').filter(Boolean).length, 1, `${what}: one line on stderr: ${r.stderr}`);
  t.match(r.stderr, pattern, what);
}

t.test('podshm --help lists every command; no command is a usage error', async (t) => {
  const help = await podshm('--help');
  t.equal(help.code, 0);
  t.equal(help.stderr, '');
  const listed = help.stdout.split('commands:\n')[1].split('\n\n')[0].split('\n').map((l) => l.trim().split(/\s+/)[0]);
  t.same(listed, COMMANDS, 'each command, with its summary');
  t.match(help.stdout, /podshm <command> --help/);
  t.match(help.stdout, /exit status: 0 done, 1 problems found, 2 usage error, 3 could not do its work/);
  t.same(await podshm('-h'), help, '-h is --help');
  t.same(await podshm('help'), help, 'and so is help');

  const none = await podshm();
  t.equal(none.code, 2, 'no command: a usage error');
  t.equal(none.stdout, '');
  t.equal(none.stderr, help.stdout, 'the same usage, on stderr');
});

t.test('--help and -h for every command: its usage, options and exit statuses on stdout, exit 0', async (t) => {
  for (const name of COMMANDS) {
    const r = await podshm(name, '--help');
    t.equal(r.code, 0, `${name} --help: exit 0`);
    t.equal(r.stderr, '', `${name} --help: nothing on stderr`);
    t.match(r.stdout, new RegExp(`^usage: podshm ${name}\\b`), `${name} --help: its usage first`);
    t.match(r.stdout, /\noptions:\n[\s\S]*-h, --help {2,}print this help and exit\n/, `${name} --help: its options`);
    t.match(r.stdout, /\nexit status: 0 [\s\S]*2 usage error/, `${name} --help: its exit statuses`);
    t.ok(r.stdout.split('\n').every((l) => l.length <= 80), `${name} --help: 80 columns`);
    t.same(await podshm(name, '-h'), r, `${name} -h is the same`);
    t.same(await podshm('help', name), r, `podshm help ${name} is the same`);
    // The usage line, unwrapped, is the one docs/cli.md gives.
    const usage = r.stdout.split('\n\n')[0].replace(/\n {7}/g, ' ').replace(/^usage: /, '');
    t.ok(docs.includes(usage), `docs/cli.md has ${name}'s usage: ${usage}`);
    for (const flag of new Set(r.stdout.split('\noptions:\n')[1].match(/--[a-z-]+/g))) {
      t.ok(docs.includes(flag), `docs/cli.md names ${name} ${flag}`);
    }
  }
  const late = await podshm('ls', '--dir', '/nonexistent', '--help');
  t.equal(late.code, 0, '--help anywhere among the options');
  t.match(late.stdout, /^usage: podshm ls/);
  const name = uniqueName('help');
  const after = await podshm('rm', '--', '--help');
  t.equal(after.code, 1, "after '--', --help is a name: rm fails to remove it");
  t.match(after.stderr, /ENOENT.*'\/--help'/);
  t.notOk(fs.existsSync(`/dev/shm${name}`));
});

t.test('--version and -V print the version in package.json', async (t) => {
  for (const flag of ['--version', '-V']) {
    const r = await podshm(flag);
    t.same(r, { code: 0, signal: null, stdout: `${version}\n`, stderr: '' }, flag);
  }
});

t.test('a misspelled command or flag: exit 2 and the one that was probably meant', async (t) => {
  const cases = [
    [['doctr'], /^podshm: unknown command 'doctr'; did you mean 'doctor'\? \(podshm --help lists the commands\)$/m],
    [['metric'], /did you mean 'metrics'\?/],
    [['--verison'], /unknown command '--verison'; did you mean '--version'\?/],
    [['hlep'], /did you mean 'help'\?/],
    [['help', 'topp'], /unknown command 'topp'; did you mean 'top'\?/],
    [['help', '--version'], /^podshm: unknown command '--version' \(podshm --help lists the commands\)$/m],
    [['frobnicate'], /^podshm: unknown command 'frobnicate' \(podshm --help lists the commands\)$/m],
    [['doctor', '--jsn'], /^podshm: doctor: Unknown option '--jsn'; did you mean '--json'\? \(usage: podshm doctor /],
    [['ls', '--dri', '/tmp'], /ls: Unknown option '--dri'; did you mean '--dir'\?/],
    [['ls', 'json'], /ls: Unexpected argument 'json'.*; did you mean '--json'\?/],
    [['ls', '--hepl'], /did you mean '--help'\?/],
    [['rm', '--forse', 'x'], /rm: Unknown option '--forse'; did you mean '--force'\?/],
    [['gc', '--dry-rn'], /gc: Unknown option '--dry-rn'; did you mean '--dry-run'\?/],
    [['top', '--intervl', '1'], /top: Unknown option '--intervl'; did you mean '--interval'\?/],
    [['top', '--sort', 'rat'], /top: --sort must be one of .*, not 'rat'; did you mean 'rate'\?/],
    [['metrics', '--prot', '1'], /metrics: Unknown option '--prot'; did you mean '--port'\?/],
    [['demo', '--secnds', '1'], /demo: Unknown option '--secnds'; did you mean '--seconds'\?/],
    [['webhook', '--tls-crt', 'x'], /webhook: unknown option --tls-crt; did you mean '--tls-cert'\?/],
    [['ls', '--frobnicate'], /^podshm: ls: Unknown option '--frobnicate' \(usage: /],
  ];
  const results = await Promise.all(cases.map(([args]) => podshm(...args)));
  cases.forEach(([args, pattern], i) => usageError(t, results[i], pattern, args.join(' ')));
});

t.test('demo --seconds: what the help states is what is accepted', async (t) => {
  const help = (await podshm('demo', '--help')).stdout;
  const [, low, high] = /--seconds N\s+the length of each of the four phases, more than (\d+) and\s+at most (\d+)/.exec(help) ?? [];
  t.ok(low !== undefined, `the range is in the help: ${help}`);
  for (const value of [low, '-1', String(Number(high) + 0.5), 'soon', '']) {
    usageError(t, await podshm('demo', `--seconds=${value}`), new RegExp(`--seconds must be a number more than ${low} and at most ${high}, not '${value}'`), `--seconds '${value}'`);
  }
  const short = await run(process.execPath, [cli, 'demo', '--seconds', '0.1'], { timeoutMs: 60_000 });
  t.equal(short.code, 0, `a tenth of a second, more than ${low}, runs: ${short.stderr}`);
  t.match(short.stdout, /0\.1 s per phase/);
});

t.test('exit statuses: 0 done, 1 problems found, 2 usage error, 3 could not do its work', async (t) => {
  const dir = fs.mkdtempSync(path.join('/dev/shm', 'podshm-test-exit-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  SharedMemory.create('/kept', 4096, { dir }).close();
  const missing = path.join(os.tmpdir(), uniqueName('nodir').slice(1));
  const cases = [
    [0, ['ls', '--dir', dir]],
    [0, ['gc', '--dir', dir]],
    [0, ['rm', '--dir', dir, '/kept']],
    [0, ['top', '-n', '1', '--dir', dir]],
    [0, ['metrics', '--once', '--dir', dir]],
    [1, ['rm', '--dir', dir, '/kept']],
    [1, ['doctor', '--dir', os.tmpdir()], 'warnings: the directory is not memory (or exit 0 where it is)'],
    [2, ['ls', '--dir=']],
    [2, ['rm']],
    [2, ['gc', '--min-age', 'soon']],
    [2, ['top', '--interval', '0']],
    [2, ['metrics', '--port', '70000']],
    [2, ['doctor', 'extra']],
    [2, ['webhook']],
    [3, ['ls', '--dir', missing]],
    [3, ['gc', '--dir', missing]],
    [3, ['doctor', '--dir', missing]],
  ];
  for (const [code, args, note] of cases) {
    const r = await podshm(...args);
    if (args[0] === 'doctor' && note && JSON.parse((await podshm('doctor', '--json', '--dir', os.tmpdir())).stdout).shm.memoryBacked) {
      t.equal(r.code, 0, `${args.join(' ')}: ${os.tmpdir()} is memory here, so no warning`);
      continue;
    }
    t.equal(r.code, code, `${args.join(' ')}: exit ${code}${note ? ` (${note})` : ''}: ${r.stderr}`);
    if (code === 2) t.match(r.stderr, /\(usage: podshm /, `${args.join(' ')}: with the usage`);
  }

  // A port in use: metrics cannot start.
  const busy = net.createServer();
  await new Promise((resolve) => busy.listen(0, '127.0.0.1', resolve));
  t.teardown(() => busy.close());
  const r = await podshm('metrics', '--host', '127.0.0.1', '--port', String(busy.address().port));
  t.equal(r.code, 3, 'metrics on a port in use: could not start');
  t.match(r.stderr, /^podshm: metrics: cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
  t.equal(r.stderr.split('\n').filter(Boolean).length, 1, 'one line, not a stack');
});

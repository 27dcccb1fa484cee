// Docs that run: every ```js, ```javascript, ```mjs and ```ts block of README.md and
// docs/*.md, and every ```sh block of podshm commands, is run against the built package
// (dist/, so `npm run build` first), as written. The convention (`<!-- doc-test: ... -->`
// before a block) is in CONTRIBUTING.md, "Docs that run".
//
// Each group of blocks (a block, or a `with-next` chain) runs in a pod of its own
// (test/pod.mjs): one IPC namespace and one Memory emptyDir at /dev/shm shared by its
// containers, one container per block. So the names the examples use ('telemetry',
// '/jobs') collide with nothing else on the machine, and what a block leaves behind is
// seen: a group passes only if it left no object in /dev/shm, no message queue and no
// System V segment.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { groups, SHELL_LANGUAGES } from './blocks.mjs';
import { MiB, podSupport, startPod } from '../pod.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const prelude = pathToFileURL(fileURLToPath(new URL('./prelude.mjs', import.meta.url))).href;
const ts = createRequire(import.meta.url)('typescript');
// A hang guard: a block that has not ended by then failed, whatever the machine's speed.
const GUARD_MS = 60_000;

const why = podSupport();
// PODSHM_DOC_TEST_ONLY=docs/sync.md runs the blocks of one file (while writing it).
const all = groups(root).filter((g) => !process.env.PODSHM_DOC_TEST_ONLY || g[0].file === process.env.PODSHM_DOC_TEST_ONLY);
const skipped = all.filter((g) => g[0].directive?.skip);
const runnable = all.filter((g) => !g[0].directive?.skip);

// Each block has its own guard; this bounds the file (tap's default is 120 s for it all).
t.setTimeout(runnable.length * (GUARD_MS + 30_000));

t.comment(`${all.flat().length} blocks in README.md and docs/*.md: ${runnable.flat().length} run in ${runnable.length} groups, ${skipped.length} skipped`);
// Each skip is a skipped test with its reason, so tap's summary counts and lists them.
for (const [b] of skipped) t.test(b.where, { skip: b.directive.skip }, () => {});

t.test('the documented blocks exist', async (t) => {
  t.ok(runnable.length > 0, 'blocks to run were found');
  t.ok(fs.existsSync(path.join(root, 'dist/esm/index.mjs')), 'the package is built (npm run build)');
});

t.test('every block runs', { skip: why ?? false }, async (t) => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'podshm-docs-'));
  t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));
  setUpProject(tmp);
  const files = new Map(); // block -> the file that runs it
  for (const [i, b] of runnable.flat().entries()) files.set(b, writeBlock(tmp, b, i));

  const tsBlocks = runnable.flat().filter((b) => b.lang === 'ts' || b.lang === 'typescript');
  if (tsBlocks.length > 0) {
    t.test('the TypeScript blocks type-check against dist/ types', async (t) => {
      const problems = typeCheck(tmp, tsBlocks, files);
      t.same(problems, [], problems.join('\n'));
    });
  }
  for (const group of runnable) {
    t.test(group.map((b) => b.where).join(' with '), async (t) => runGroup(t, tmp, group, files));
  }
});

// A project in `tmp` where 'podshm' and 'podshm/webhook' resolve to this package (the
// built dist/), `podshm` on PATH is its CLI, and TypeScript finds @types/node.
function setUpProject(tmp) {
  fs.mkdirSync(path.join(tmp, 'node_modules'));
  fs.symlinkSync(root, path.join(tmp, 'node_modules', 'podshm'));
  fs.symlinkSync(path.join(root, 'node_modules', '@types'), path.join(tmp, 'node_modules', '@types'));
  fs.mkdirSync(path.join(tmp, 'bin'));
  fs.writeFileSync(path.join(tmp, 'bin', 'podshm'), `#!/bin/sh\nexec ${process.execPath} ${path.join(root, 'dist/cjs/cli/main.js')} "$@"\n`, { mode: 0o755 });
  // What prelude.mjs defines, for the type checker.
  fs.writeFileSync(path.join(tmp, 'prelude.d.ts'), 'declare function handle(msg: ArrayBufferView): void;\ndeclare function render(bytes: Uint8Array): void;\n');
}

// The file that runs block `b`: its prelude and code, as an ES module if it has import
// or export statements, else as CommonJS if it calls require(), else as an ES module; TypeScript transpiled (ts.transpileModule); a shell block as a
// script of its podshm commands (`npx podshm` runs the same CLI).
function writeBlock(tmp, b, i) {
  const source = (b.directive?.prelude ? b.directive.prelude + '\n' : '') + b.code;
  const base = path.join(tmp, `block-${i}`);
  if (SHELL_LANGUAGES.has(b.lang)) {
    const commands = source.split('\n').map((l) => l.replace(/\s+#.*$/, '').trim()).filter((l) => l !== '' && !l.startsWith('#'));
    const other = commands.find((c) => !/^(npx )?podshm( |$)/.test(c));
    if (other !== undefined) return { error: `${b.where}: "${other}" is not a podshm command: run only podshm commands here, or say why not with <!-- doc-test: skip (reason) -->` };
    fs.writeFileSync(`${base}.sh`, ['set -e', ...commands.map((c) => c.replace(/^npx /, ''))].join('\n') + '\n');
    return { file: `${base}.sh`, command: 'sh' };
  }
  if (b.lang === 'ts' || b.lang === 'typescript') {
    fs.writeFileSync(`${base}.mts`, source);
    const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
    fs.writeFileSync(`${base}.mjs`, js);
    return { file: `${base}.mjs`, command: process.execPath, source: `${base}.mts` };
  }
  const ext = b.lang === 'mjs' || /^\s*(import|export)\s/m.test(source) || !/\brequire\(/.test(source) ? 'mjs' : 'cjs';
  fs.writeFileSync(`${base}.${ext}`, source);
  return { file: `${base}.${ext}`, command: process.execPath };
}

const lineCount = (text) => (text ? text.split('\n').length : 0);

// tsc's diagnostics for the TypeScript blocks, as "file:line: message" of the Markdown.
function typeCheck(tmp, blocks, files) {
  const byFile = new Map(blocks.map((b) => [files.get(b).source, b]));
  const program = ts.createProgram([...byFile.keys(), path.join(tmp, 'prelude.d.ts')], {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2022.d.ts', 'lib.esnext.disposable.d.ts'],
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    types: ['node'],
  });
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    const b = d.file && byFile.get(d.file.fileName);
    if (!b) return `${d.file?.fileName ?? 'tsc'}: ${text}`;
    const line = d.file.getLineAndCharacterOfPosition(d.start ?? 0).line - lineCount(b.directive?.prelude);
    return `${b.file}:${b.line + 1 + line}: ${text}`;
  });
}

async function runGroup(t, tmp, group, files) {
  for (const b of group) if (files.get(b).error) return t.fail(files.get(b).error);
  const pod = await startPod({ emptyDir: 64 * MiB });
  t.teardown(() => pod.close());
  const env = { PATH: `${path.join(tmp, 'bin')}:${process.env.PATH}` };
  const procs = [];
  for (const [i, b] of group.entries()) {
    const c = await pod.container(`block${i}`);
    const f = files.get(b);
    const args = f.command === 'sh' ? [f.file] : ['--import', prelude, f.file];
    // Without NODE_OPTIONS: tap's loaders, which it adds to every child process, are no
    // part of a reader's node.
    procs.push(Object.assign(start(c.spawn('env', ['-u', 'NODE_OPTIONS', f.command, ...args], { cwd: tmp, env, stdio: ['ignore', 'pipe', 'pipe'] })), { b }));
  }
  const guard = setTimeout(() => {
    for (const p of procs) if (p.result === null) p.killAll();
  }, GUARD_MS);
  try {
    // A group's first block that handles SIGTERM serves the others (a consumer that runs
    // until stopped): once they are done, it is asked to end as a server is, with
    // SIGTERM, and must then exit cleanly. Any other block ends by itself.
    await Promise.all(procs.slice(1).map((p) => p.done));
    if (procs.length > 1 && procs[0].result === null && /\bSIGTERM\b/.test(group[0].code)) procs[0].terminate();
    await procs[0].done;
  } finally {
    clearTimeout(guard);
  }
  for (const p of procs) {
    const r = p.result;
    const output = { stdout: r.stdout, stderr: r.stderr };
    if (r.stdout !== '') t.comment(`${p.b.where} printed:\n${r.stdout.trimEnd()}`);
    if (r.signal === 'SIGKILL' && p.killed) t.fail(`${p.b.where} did not end within ${GUARD_MS / 1000} s (hang guard)`, output);
    else t.equal(r.code, 0, `${p.b.where} exits 0`, r.code === 0 ? {} : output);
  }
  const left = await leftovers(pod);
  t.same(left, [], `the group leaves no object behind${left.length ? ': ' + left.join(', ') : ''}`);
}

// Collects a block process's output and exit; its node runs under nsenter, which
// passes its exit code on.
function start(child) {
  const p = { result: null, killed: false, stdout: '', stderr: '' };
  child.stdout.on('data', (d) => (p.stdout += d));
  child.stderr.on('data', (d) => (p.stderr += d));
  p.done = new Promise((resolve) =>
    child.on('close', (code, signal) => {
      p.result = { code, signal, stdout: p.stdout, stderr: p.stderr };
      resolve();
    }),
  );
  p.killAll = () => {
    p.killed = true;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {}
  };
  // SIGTERM to the block's own process (nsenter's child), not to nsenter.
  p.terminate = () => {
    const children = fs.readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    for (const pid of children) process.kill(Number(pid), 'SIGTERM');
  };
  return p;
}

// POSIX objects in the pod's /dev/shm, message queues and System V segments of its
// IPC namespace that are still there.
async function leftovers(pod) {
  const shm = fs.readdirSync(pod.emptyDirHostPath).map((n) => `/dev/shm/${n}`);
  const mq = fs.readdirSync(pod.hostPath(pod.mqueueDir)).map((n) => `message queue /${n}`);
  const sysv = await pod.containers[0].run('cat', ['/proc/sysvipc/shm']);
  const segments = sysv.stdout.trim().split('\n').slice(1).map((l) => `System V segment key ${l.trim().split(/\s+/)[0]}`);
  return [...shm, ...mq, ...segments];
}

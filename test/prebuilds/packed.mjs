// The package as a user installs it: `npm pack` of this repository with the four
// prebuilds (`npm run prebuildify`), installed with install scripts blocked into an
// empty project, so nothing can be compiled there and node-gyp-build must pick a
// prebuild. Shared by test/package.test.mjs and test/prebuilds/*.test.mjs.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { run } from '../helpers.mjs';

export const root = new URL('../..', import.meta.url).pathname;

export const prebuilds = [
  { file: 'prebuilds/linux-x64/podshm.napi.glibc.node', arch: 'x64', libc: 'glibc', machine: 'Advanced Micro Devices X86-64' },
  { file: 'prebuilds/linux-x64/podshm.napi.musl.node', arch: 'x64', libc: 'musl', machine: 'Advanced Micro Devices X86-64' },
  { file: 'prebuilds/linux-arm64/podshm.napi.glibc.node', arch: 'arm64', libc: 'glibc', machine: 'AArch64' },
  { file: 'prebuilds/linux-arm64/podshm.napi.musl.node', arch: 'arm64', libc: 'musl', machine: 'AArch64' },
];

/**
 * Why the prebuilds cannot be tested now: null when all four exist and are newer than
 * every source they are built from. Missing ones are a reason to skip (a developer who
 * has not run `npm run prebuildify`; CI always runs it); stale ones are a failure.
 */
export function prebuildsState() {
  const missing = prebuilds.filter((p) => !fs.existsSync(path.join(root, p.file)));
  if (missing.length > 0) return { skip: `${missing.map((p) => p.file).join(', ')} missing: run npm run prebuildify` };
  const sources = ['binding.gyp', 'scripts/prebuildify.js', ...fs.readdirSync(path.join(root, 'native')).map((f) => `native/${f}`)];
  const newest = Math.max(...sources.map((f) => fs.statSync(path.join(root, f)).mtimeMs));
  const stale = prebuilds.filter((p) => fs.statSync(path.join(root, p.file)).mtimeMs < newest);
  if (stale.length > 0) return { fail: `${stale.map((p) => p.file).join(', ')} older than the sources: run npm run prebuildify` };
  return null;
}

/** Packs the repository and installs the tarball into a new project in a temp dir. */
export async function packAndInstall(t) {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'podshm-pack-'));
  t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));
  // --ignore-scripts: prepack would rebuild dist/ and the prebuilds under the tests
  // running beside this one; `npm test` and `npm run prebuildify` built them already.
  const pack = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: root });
  if (pack.code !== 0) throw new Error(`npm pack failed: ${pack.stderr}`);
  const [info] = JSON.parse(pack.stdout);
  const tarball = path.join(work, info.filename);

  const app = path.join(work, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  const install = await run('npm', ['install', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', tarball], { cwd: app, timeoutMs: 120_000 });
  if (install.code !== 0) throw new Error(`npm install failed: ${install.stderr}`);
  fs.copyFileSync(new URL('./smoke.mjs', import.meta.url), path.join(app, 'smoke.mjs'));
  return { app, tarball, files: info.files.map((f) => f.path), size: info.size, unpackedSize: info.unpackedSize };
}

/**
 * Runs the smoke set with `command` (prefixed by `exec` for it and its peers), inside a
 * private mount namespace with a 1 MiB tmpfs for the capacity check where root may
 * make one. Returns { code, stderr, results: { check: { result, detail } } }.
 */
export async function smoke(app, command, { exec = [], env = {} } = {}) {
  const argv = [...exec, command, 'smoke.mjs'];
  const canMount = process.getuid() === 0 && fs.existsSync('/usr/bin/unshare');
  const tmpfs = path.join(app, 'small-tmpfs');
  fs.mkdirSync(tmpfs, { recursive: true });
  const q = (s) => `'${s.replaceAll("'", "'\\''")}'`;
  const opts = { cwd: app, env: { ...env, PODSHM_SMOKE_EXEC: JSON.stringify(exec) }, timeoutMs: 840_000 };
  const r = canMount
    ? await run('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c',
      `mount -t tmpfs -o size=1m podshm-smoke ${q(tmpfs)} && exec ${argv.map(q).join(' ')} ${q(tmpfs)}`], opts)
    : await run(argv[0], argv.slice(1), opts);
  const results = {};
  for (const line of r.stdout.split('\n').filter(Boolean)) {
    const { check, ...rest } = JSON.parse(line);
    results[check] = rest;
  }
  return { code: r.code, stderr: r.stderr, results, mounted: canMount };
}

// The musl prebuilds as far as this machine can take them without a musl Node.js (none
// is on npm): from the packed tarball installed into an empty project, node-gyp-build
// picks them on musl (Alpine's /etc/alpine-release, or LIBC=musl elsewhere), and
// musl's own dynamic linker (Debian's libc.so, scripts/fetch-musl.sh) loads each one
// as Node.js would and finds its Node-API entry point: arm64 under qemu-user. The
// loader is test/fixtures/musl-dlopen.c, built with the prebuilds' Zig against that
// libc.so.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { run } from '../helpers.mjs';
import { packAndInstall, prebuilds, prebuildsState, root } from './packed.mjs';

const zig = path.join(root, '.cache/zig-0.11.0/zig');
const qemu = 'qemu-aarch64-static';
const loaders = {
  x64: { triple: 'x86_64-linux-musl', libc: path.join(root, '.cache/musl-amd64/libc.so'), exec: [] },
  arm64: { triple: 'aarch64-linux-musl', libc: path.join(root, '.cache/musl-arm64/libc.so'), exec: [qemu] },
};
const musl = prebuilds.filter((p) => p.libc === 'musl');

t.setTimeout(600_000);
const state = prebuildsState();

function missing() {
  if (state?.skip) return state.skip;
  if (!fs.existsSync(zig)) return `${zig} missing: run scripts/fetch-zig.sh`;
  const libc = Object.values(loaders).find((l) => !fs.existsSync(l.libc));
  if (libc) return `${libc.libc} missing: run scripts/fetch-musl.sh`;
  if (spawnSync(qemu, ['--version']).status !== 0) return `${qemu} missing: apt-get install qemu-user-static`;
  return null;
}

const reason = missing();
if (state?.fail) t.fail(state.fail);
else if (reason) t.skip(reason);
else {
  const { app } = await packAndInstall(t);
  const pkg = path.join(app, 'node_modules/podshm');
  const pick = `path.relative(${JSON.stringify(pkg)}, require('node-gyp-build').path(${JSON.stringify(pkg)}))`;

  t.test('node-gyp-build picks the musl prebuild on musl', async (t) => {
    for (const p of musl) {
      const r = await run(process.execPath, ['-p', pick], { cwd: app, env: { npm_config_arch: p.arch, LIBC: 'musl' } });
      t.equal(r.stdout.trim(), p.file, `${p.arch} with LIBC=musl ${r.code ? r.stderr : ''}`);
    }
    // Alpine as node-gyp-build knows it: an /etc/alpine-release, here on a tmpfs over
    // /etc in a private mount namespace, and neither LIBC nor npm_config_arch set.
    if (process.getuid() !== 0 || !fs.existsSync('/usr/bin/unshare')) {
      t.comment('the /etc/alpine-release check skipped: a mount namespace needs root');
      return;
    }
    const env = { LIBC: undefined, npm_config_arch: undefined };
    const q = (s) => `'${s.replaceAll("'", "'\\''")}'`;
    const onAlpine = await run('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c',
      `mount -t tmpfs podshm-alpine /etc && : > /etc/alpine-release && exec ${q(process.execPath)} -p ${q(pick)}`], { cwd: app, env });
    t.equal(onAlpine.stdout.trim(), 'prebuilds/linux-x64/podshm.napi.musl.node', `with /etc/alpine-release ${onAlpine.code ? onAlpine.stderr : ''}`);
    const elsewhere = await run(process.execPath, ['-p', pick], { cwd: app, env });
    t.equal(elsewhere.stdout.trim(), 'prebuilds/linux-x64/podshm.napi.glibc.node', 'and the glibc one without it');
  });

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'podshm-musl-'));
  t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));
  for (const p of musl) {
    t.test(`musl's dynamic linker loads ${p.file}`, async (t) => {
      const loader = loaders[p.arch];
      // Linked against musl's libc.so itself, so that the loader is a dynamic program
      // (Zig otherwise links its own musl statically, where dlopen cannot load anything).
      const exe = path.join(work, `musl-dlopen-${p.arch}`);
      const cc = await run(zig, ['cc', '-target', loader.triple, '-dynamic', '-O2', '-o', exe,
        path.join(root, 'test/fixtures/musl-dlopen.c'), loader.libc], { timeoutMs: 300_000 });
      t.equal(cc.code, 0, `zig cc built the loader ${cc.code ? cc.stderr : ''}`);
      // musl's libc.so is also its dynamic linker, run by name: the host may have no /lib/ld-musl-*.
      const load = (file) => {
        const [cmd, ...args] = [...loader.exec, loader.libc, exe, path.join(pkg, file)];
        return run(cmd, args, { timeoutMs: 120_000 });
      };
      const r = await load(p.file);
      t.equal(r.stdout.trim(), 'loaded', `loaded, its entry point found ${r.stderr}`);
      t.equal(r.code, 0, 'the loader exited cleanly');
      // The same loader refuses the glibc build of the same architecture: it is not
      // made for musl (node-gyp-build must not pick it there).
      const glibc = prebuilds.find((g) => g.arch === p.arch && g.libc === 'glibc');
      const refused = await load(glibc.file);
      t.equal(refused.code, 1, 'dlopen failed (the loader did not crash)');
      t.match(refused.stdout, glibc.file, `the glibc build is refused: ${refused.stdout.trim()}`);
    });
  }
}

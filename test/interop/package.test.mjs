// The package the way a user meets it (docs/design.md, "Installation"): packed with its
// four prebuilds, then installed into an empty project with install scripts blocked, so
// the prebuilt addon must be found by node-gyp-build; both entry points load, their type
// declarations compile, and the smoke set passes on this Node.js and on the others in .cache/.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { run } from '../helpers.mjs';
import { packAndInstall, prebuilds, prebuildsState, smoke } from '../prebuilds/packed.mjs';

const root = new URL('../..', import.meta.url).pathname;
// Three runtimes, each starting a dozen processes: more than the default file timeout.
t.setTimeout(900_000);
const state = prebuildsState();
if (state?.skip) t.skip(state.skip);
else if (state?.fail) t.fail(state.fail);
else t.test('npm pack + npm install --ignore-scripts into an empty project', async (t) => {
  const { app, files, size, unpackedSize } = await packAndInstall(t);
  t.comment(`tarball: ${(size / 1024).toFixed(0)} KiB, ${(unpackedSize / 1024).toFixed(0)} KiB unpacked, ${files.length} files`);

  t.same(files.filter((f) => f.startsWith('prebuilds/')).sort(), prebuilds.map((p) => p.file).sort(), 'ships the four prebuilds and nothing else there');
  t.ok(files.includes('dist/esm/index.mjs') && files.includes('dist/cjs/index.d.ts'));
  t.ok(files.includes('binding.gyp') && files.includes('native/addon.cc'), 'and the sources for a build where no prebuild fits');
  const extra = files.filter((f) => /^(build|test|bench|examples|scripts|\.cache|\.ci|node_modules)\//.test(f) || f.endsWith('.tgz'));
  t.same(extra, [], 'no build output, tests, benchmarks, scripts or caches');
  t.ok(size < 2 * 1024 * 1024, `the tarball stays small (${size} bytes)`);
  t.notOk(fs.existsSync(path.join(app, 'node_modules/podshm/build')), 'nothing was compiled at install');

  const cjs = await run(process.execPath, ['-e', `
    const { SharedMemory } = require('podshm');
    const s = SharedMemory.create('/podshm-pack-${process.pid}', 4096);
    s.unlink();
    console.log(s.buffer instanceof SharedArrayBuffer);`], { cwd: app });
  t.equal(cjs.stdout.trim(), 'true', `CommonJS entry works: ${cjs.stderr}`);

  const esm = await run(process.execPath, ['--input-type=module', '-e', `
    import podshm, { SharedMemory } from 'podshm';
    console.log(SharedMemory === podshm.SharedMemory, typeof SharedMemory.create);`], { cwd: app });
  t.equal(esm.stdout.trim(), 'true function', `ESM entry shares the CommonJS classes: ${esm.stderr}`);

  // Types for both entry points, as a TypeScript user with nodenext resolution sees them.
  fs.writeFileSync(path.join(app, 'a.mts'), `import { SharedMemory, type Limits } from 'podshm';\nconst s: SharedMemory = SharedMemory.open('x');\nconst b: SharedArrayBuffer = s.buffer;\nexport const l: Limits | undefined = undefined; void b;\n`);
  fs.writeFileSync(path.join(app, 'b.cts'), `import { SharedMemory, probeLimits } from 'podshm';\nconst n: number = SharedMemory.open('x').size + probeLimits().shm.free;\nexport = n;\n`);
  fs.writeFileSync(path.join(app, 'c.mts'), `import { SharedMemory } from 'podshm';\nconst n: string = SharedMemory.open('x').size;\nexport { n };\n`);
  const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
  const flags = ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', '--typeRoots', path.join(root, 'node_modules/@types')];
  const good = await run(process.execPath, [tsc, ...flags, 'a.mts', 'b.cts'], { cwd: app });
  t.equal(good.code, 0, `declarations type-check: ${good.stdout}`);
  const bad = await run(process.execPath, [tsc, ...flags, 'c.mts'], { cwd: app });
  t.match(bad.stdout, /Type 'number' is not assignable to type 'string'/, 'and they are real types, not any');

  // The smoke set (test/prebuilds/smoke.mjs) on this Node.js and on those that
  // scripts/fetch-node.sh installed.
  const cache = path.join(root, '.cache');
  const others = fs.existsSync(cache) ? fs.readdirSync(cache).filter((d) => d.startsWith('node-')).map((d) => path.join(cache, d, 'bin/node')) : [];
  for (const bin of [process.execPath, ...others]) {
    const r = await smoke(app, bin);
    t.equal(r.code, 0, `${bin}: ${r.stderr}`);
    const res = r.results;
    const label = res.addon?.detail ?? bin;
    t.equal(res.addon?.result, 'prebuilds/linux-x64/podshm.napi.glibc.node', `${label}: node-gyp-build picked the x64 glibc prebuild`);
    for (const check of ['shared memory', 'futex waitSync', 'futex wait', 'semaphore acquire', 'mutex lock', 'channel', 'message queue']) {
      t.equal(res[check]?.result, 'ok', `${label}: ${check} (${res[check]?.detail})`);
    }
    t.equal(res['native error']?.result, 'ENOENT', `${label}: a C++ exception from the addon becomes a JavaScript error`);
    if (r.mounted) t.equal(res.capacity?.result, 'CapacityError', `${label}: 8 MiB in a 1 MiB tmpfs is a CapacityError`);
  }
});

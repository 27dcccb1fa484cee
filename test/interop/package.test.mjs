// The package the way a user meets it (docs/design.md, "Installation"): packed, then installed into an
// empty project with install scripts blocked, so the prebuilt addon must be found by
// node-gyp-build; both entry points load and their type declarations compile.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { run } from '../helpers.mjs';

const root = new URL('../..', import.meta.url).pathname;
const npm = 'npm';

t.test('npm pack + npm install --ignore-scripts into an empty project', async (t) => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'podshm-pack-'));
  t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));

  // Stage a copy with the already built addon as its prebuild, so this test never
  // rebuilds the addon that the tests running beside it have loaded.
  const stage = path.join(work, 'stage');
  fs.mkdirSync(stage);
  for (const f of ['package.json', 'README.md', 'binding.gyp', 'native', 'lib', 'dist']) {
    fs.cpSync(path.join(root, f), path.join(stage, f), { recursive: true });
  }
  fs.mkdirSync(path.join(stage, 'prebuilds/linux-x64'), { recursive: true });
  fs.copyFileSync(path.join(root, 'build/Release/podshm.node'), path.join(stage, 'prebuilds/linux-x64/podshm.node'));
  const pack = await run(npm, ['pack', '--ignore-scripts', '--silent', '--pack-destination', work], { cwd: stage });
  t.equal(pack.code, 0, pack.stderr);
  const tarball = path.join(work, pack.stdout.trim().split('\n').pop());

  const listing = await run('tar', ['tzf', tarball]);
  const files = listing.stdout.split('\n');
  t.ok(files.includes('package/prebuilds/linux-x64/podshm.node'), 'ships the prebuilt addon');
  t.ok(files.includes('package/dist/esm/index.mjs') && files.includes('package/dist/cjs/index.d.ts'));
  t.notOk(files.some((f) => f.startsWith('package/build/') || f.startsWith('package/test/')), 'no build output or tests');

  const app = path.join(work, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  const install = await run(npm, ['install', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', tarball], { cwd: app, timeoutMs: 120_000 });
  t.equal(install.code, 0, install.stderr);
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
});

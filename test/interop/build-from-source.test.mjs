// The README's fallback where no prebuild fits: `npm install podshm --build-from-source`
// compiles the addon from the packed tarball's own sources (binding.gyp, native/, the
// node-addon-api dependency) with node-gyp at install, node-gyp-build then loads that
// build instead of a prebuild, and it passes the smoke set.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { run } from '../helpers.mjs';
import { packAndInstall, prebuildsState, smoke } from '../prebuilds/packed.mjs';

// A node-gyp build on a busy 2-core machine, then a dozen processes.
t.setTimeout(900_000);
const state = prebuildsState();
if (state?.skip) t.skip(state.skip);
else if (state?.fail) t.fail(state.fail);
else t.test('npm install --build-from-source of the packed tarball', async (t) => {
  const { tarball } = await packAndInstall(t);
  const app = path.join(path.dirname(tarball), 'from-source');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  const install = await run('npm', ['install', '--build-from-source', '--prefer-offline', '--no-audit', '--no-fund', tarball], { cwd: app, timeoutMs: 600_000 });
  t.equal(install.code, 0, `npm install ran the node-gyp build ${install.code ? install.stderr : ''}`);
  t.ok(fs.existsSync(path.join(app, 'node_modules/podshm/build/Release/podshm.node')), 'the addon was compiled at install');

  fs.copyFileSync(new URL('../prebuilds/smoke.mjs', import.meta.url), path.join(app, 'smoke.mjs'));
  const r = await smoke(app, process.execPath);
  t.equal(r.code, 0, `the smoke set ran to its end ${r.stderr}`);
  const res = r.results;
  t.equal(res.addon?.result, 'build/Release/podshm.node', 'node-gyp-build loads the build, not a prebuild');
  for (const check of ['shared memory', 'futex waitSync', 'futex wait', 'semaphore acquire', 'mutex lock', 'channel', 'message queue']) {
    t.equal(res[check]?.result, 'ok', `${check} (${res[check]?.detail})`);
  }
  t.equal(res['native error']?.result, 'ENOENT', 'a C++ exception from the addon becomes a JavaScript error');
  if (r.mounted) t.equal(res.capacity?.result, 'CapacityError', '8 MiB in a 1 MiB tmpfs is a CapacityError');
});

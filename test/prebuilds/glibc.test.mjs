// The packed tarball on an older glibc than this machine's: Debian 11's 2.31 (that of
// Ubuntu 20.04, and older than the 2.32 whose __libc_single_threaded an earlier x64
// prebuild needed), unpacked by scripts/fetch-glibc.sh. This Node.js and its peers run
// through that glibc's dynamic linker with its libraries, and pass the smoke set.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { packAndInstall, prebuildsState, root, smoke } from './packed.mjs';

const sysroot = path.join(root, '.cache/glibc-2.31');
const libs = ['lib/x86_64-linux-gnu', 'usr/lib/x86_64-linux-gnu'].map((d) => path.join(sysroot, d));
const ld = path.join(libs[0], 'ld-linux-x86-64.so.2');

t.setTimeout(900_000);
const state = prebuildsState();
if (state?.fail) t.fail(state.fail);
else if (state?.skip) t.skip(state.skip);
else if (process.arch !== 'x64') t.skip(`${sysroot} is amd64's, this is ${process.arch}`);
else if (!fs.existsSync(ld)) t.skip(`${ld} missing: run scripts/fetch-glibc.sh`);
else {
  t.test('smoke set of the installed tarball on glibc 2.31', async (t) => {
    const { app } = await packAndInstall(t);
    const exec = [ld, '--library-path', libs.join(':')];
    const r = await smoke(app, process.execPath, { exec, env: { PODSHM_SMOKE_NODE: process.execPath } });
    t.equal(r.code, 0, `the smoke set ran to its end ${r.stderr}`);
    const res = r.results;
    t.equal(res.addon?.result, 'prebuilds/linux-x64/podshm.napi.glibc.node', `node-gyp-build picked the x64 glibc prebuild (${res.addon?.detail})`);
    t.match(res.addon?.detail, /, glibc 2\.31,/, 'the process runs on glibc 2.31');
    for (const check of ['shared memory', 'futex waitSync', 'futex wait', 'semaphore acquire', 'mutex lock', 'channel', 'message queue']) {
      t.equal(res[check]?.result, 'ok', `${check} (${res[check]?.detail})`);
    }
    t.equal(res['native error']?.result, 'ENOENT', 'a C++ exception from the addon becomes a JavaScript error');
    if (r.mounted) t.equal(res.capacity?.result, 'CapacityError', '8 MiB in a 1 MiB tmpfs is a CapacityError');
  });
}

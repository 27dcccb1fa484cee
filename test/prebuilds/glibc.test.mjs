// The packed tarball on an older glibc than this machine's: Debian 11's 2.31 (that of
// Ubuntu 20.04, and older than the 2.32 whose __libc_single_threaded earlier glibc
// prebuilds needed), amd64 and arm64 in one root unpacked by scripts/fetch-glibc.sh.
// Node.js and its peers pass the smoke set on it: on x64 run by that glibc's dynamic
// linker with its libraries, on arm64 (the official arm64 Node.js of the host's
// version, scripts/fetch-node.sh) under qemu-user with that root as its prefix.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { packAndInstall, prebuildsState, root, smoke } from './packed.mjs';

const sysroot = path.join(root, '.cache/glibc-2.31');
const qemu = 'qemu-aarch64-static';
const arm64Node = path.join(root, `.cache/arm64/node-${process.versions.node}/bin/node`);

// qemu-user starts Node.js in seconds, and the smoke set starts a dozen.
t.setTimeout(900_000);
const state = prebuildsState();
if (state?.fail) t.fail(state.fail);
else if (state?.skip) t.skip(state.skip);
else if (process.arch !== 'x64') t.skip(`the prebuilds are tested on an x64 host, this is ${process.arch}`);
else if (!fs.existsSync(path.join(sysroot, 'lib/ld-linux-aarch64.so.1'))) t.skip(`${sysroot} missing: run scripts/fetch-glibc.sh`);
else {
  const { app } = await packAndInstall(t);

  const check = (t, r, file) => {
    t.equal(r.code, 0, `the smoke set ran to its end ${r.stderr}`);
    const res = r.results;
    t.equal(res.addon?.result, file, `node-gyp-build picked ${file} (${res.addon?.detail})`);
    t.match(res.addon?.detail, /, glibc 2\.31,/, 'the process runs on glibc 2.31');
    for (const name of ['shared memory', 'futex waitSync', 'channel', 'message queue']) {
      t.equal(res[name]?.result, 'ok', `${name} (${res[name]?.detail})`);
    }
    t.equal(res['native error']?.result, 'ENOENT', 'a C++ exception from the addon becomes a JavaScript error');
    if (r.mounted) t.equal(res.capacity?.result, 'CapacityError', '8 MiB in a 1 MiB tmpfs is a CapacityError');
    return res;
  };

  t.test('x64, run by glibc 2.31', async (t) => {
    const libs = ['lib/x86_64-linux-gnu', 'usr/lib/x86_64-linux-gnu'].map((d) => path.join(sysroot, d));
    const exec = [path.join(libs[0], 'ld-linux-x86-64.so.2'), '--library-path', libs.join(':')];
    const r = await smoke(app, process.execPath, { exec, env: { PODSHM_SMOKE_NODE: process.execPath } });
    const res = check(t, r, 'prebuilds/linux-x64/podshm.napi.glibc.node');
    for (const name of ['futex wait', 'semaphore acquire', 'mutex lock']) {
      t.equal(res[name]?.result, 'ok', `${name} (${res[name]?.detail})`);
    }
  });

  t.test('arm64 under qemu-user, on glibc 2.31', async (t) => {
    if (spawnSync(qemu, ['--version']).status !== 0) return t.skip(`${qemu} missing: apt-get install qemu-user-static`);
    if (!fs.existsSync(arm64Node)) return t.skip(`${arm64Node} missing: run scripts/fetch-node.sh`);
    const r = await smoke(app, arm64Node, { exec: [qemu], env: { QEMU_LD_PREFIX: sysroot } });
    const res = check(t, r, 'prebuilds/linux-arm64/podshm.napi.glibc.node');
    // Waits on the event loop need futex_waitv, which qemu-user lacks (test/prebuilds/arm64.test.mjs).
    for (const name of ['futex wait', 'semaphore acquire', 'mutex lock']) {
      t.ok(['ok', 'ENOSYS'].includes(res[name]?.result), `${name} is woken or reports ENOSYS (${res[name]?.detail})`);
    }
  });
}

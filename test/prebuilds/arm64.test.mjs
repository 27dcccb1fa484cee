// The packed tarball on arm64: the official arm64 Node.js of the host's version
// (scripts/fetch-node.sh) runs under Debian's qemu-user-static with Debian's arm64 glibc
// and libstdc++ (libc6-arm64-cross, libstdc++6-arm64-cross), loads the arm64 glibc
// prebuild and runs the smoke set, its peers emulated too.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { packAndInstall, prebuildsState, root, smoke } from './packed.mjs';

const qemu = 'qemu-aarch64-static';
const sysroot = '/usr/aarch64-linux-gnu';
const node = path.join(root, `.cache/arm64/node-${process.versions.node}/bin/node`);

// qemu-user starts Node.js in seconds, and the smoke set starts a dozen.
t.setTimeout(900_000);
const state = prebuildsState();

function missing() {
  if (state?.skip) return state.skip;
  if (spawnSync(qemu, ['--version']).status !== 0) return `${qemu} missing: apt-get install qemu-user-static`;
  if (!fs.existsSync(path.join(sysroot, 'lib/libstdc++.so.6'))) return `${sysroot} lacks glibc or libstdc++: apt-get install libc6-arm64-cross libstdc++6-arm64-cross`;
  if (!fs.existsSync(node)) return `${node} missing: run scripts/fetch-node.sh`;
  return null;
}

const reason = missing();
if (state?.fail) t.fail(state.fail);
else if (reason) t.skip(reason);
else {
  t.test('smoke set of the installed tarball on arm64 under qemu-user', async (t) => {
    const { app } = await packAndInstall(t);
    const r = await smoke(app, node, { exec: [qemu], env: { QEMU_LD_PREFIX: sysroot } });
    t.equal(r.code, 0, `the smoke set ran to its end ${r.stderr}`);
    const res = r.results;
    t.equal(res.addon?.result, 'prebuilds/linux-arm64/podshm.napi.glibc.node', `node-gyp-build picked the arm64 glibc prebuild (${res.addon?.detail})`);
    t.match(res.addon?.detail, /^arm64 /, 'the process is arm64');
    t.equal(res['native error']?.result, 'ENOENT', 'a C++ exception from the addon becomes a JavaScript error');
    t.equal(res['shared memory']?.result, 'ok', `one SharedArrayBuffer seen by two processes: ${res['shared memory']?.detail}`);
    t.equal(res['futex waitSync']?.result, 'ok', `a blocking futex wait woken by another process: ${res['futex waitSync']?.detail}`);
    // qemu-user 7.2 does not implement futex_waitv (syscall 449): async waits cannot work
    // there, and podshm says so with ENOSYS instead of hanging. Real arm64 kernels have it.
    const async = res['futex wait'];
    t.ok(['ok', 'ENOSYS'].includes(async?.result), `wait (on the event loop) is woken or reports ENOSYS: ${async?.detail}`);
    // Semaphore.acquire() and Mutex.lock() wait through the same waiter thread: woken
    // where FutexWord.wait is, ENOSYS where it is.
    for (const check of ['semaphore acquire', 'mutex lock']) {
      t.equal(res[check]?.result, async?.result, `${check} on the event loop ends as FutexWord.wait does: ${res[check]?.detail}`);
    }
    if (async?.result === 'ENOSYS') t.comment('futex_waitv is missing under qemu-user: FutexWord.wait, Semaphore.acquire() and Mutex.lock() are not exercised on arm64 here');
    t.equal(res.channel?.result, 'ok', `Channel round trip: ${res.channel?.detail}`);
    t.equal(res['message queue']?.result, 'ok', `MessageQueue round trip: ${res['message queue']?.detail}`);
    if (r.mounted) t.equal(res.capacity?.result, 'CapacityError', `8 MiB in a 1 MiB tmpfs: ${res.capacity?.detail?.split('\n')[0]}`);
    else t.comment('capacity check skipped: a tmpfs mount needs root');
  });
}

#!/usr/bin/env node
// Cross-compiles the addon with Zig (installed by scripts/fetch-zig.sh) for every target
// the package ships prebuilt, into prebuilds/<platform>-<arch>/ under the names that
// node-gyp-build picks (prebuildify's tags: `napi`, then the libc). The glibc builds link
// against glibc 2.28, the oldest glibc Node 20's official binaries run on; Zig links its
// libc++ statically, so no C++ library is needed at run time, and Node-API, libuv and V8
// symbols stay undefined for the Node.js process to resolve.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
const zig = path.join(root, '.cache/zig-0.11.0/zig');

const targets = [
  { dir: 'linux-x64', libc: 'glibc', triple: 'x86_64-linux-gnu.2.28' },
  { dir: 'linux-x64', libc: 'musl', triple: 'x86_64-linux-musl' },
  { dir: 'linux-arm64', libc: 'glibc', triple: 'aarch64-linux-gnu.2.28' },
  { dir: 'linux-arm64', libc: 'musl', triple: 'aarch64-linux-musl' },
];

// native/v8_sab.cc talks to V8 in std::shared_ptr, so it is compiled against the headers
// of libstdc++, the C++ library Node.js is built with (on Alpine too), from Debian's
// libstdc++-12-dev and libstdc++-12-dev-arm64-cross; it uses only header templates, so
// nothing of libstdc++ is linked.
const libstdcxx = {
  x86_64: ['/usr/include/c++/12', '/usr/include/x86_64-linux-gnu/c++/12'],
  aarch64: ['/usr/aarch64-linux-gnu/include/c++/12', '/usr/aarch64-linux-gnu/include/c++/12/aarch64-linux-gnu'],
};
const v8Source = path.join('native', 'v8_sab.cc');

// binding.gyp stays the one list of sources, defines, flags and libraries.
const gyp = JSON.parse(fs.readFileSync(path.join(root, 'binding.gyp'), 'utf8')).targets[0];
const sources = fs.readdirSync(path.join(root, 'native')).filter((f) => f.endsWith('.cc') && f !== 'v8_sab.cc').map((f) => path.join('native', f));
// The headers of the Node.js running this script (the oldest one supported, as in CI):
// Node-API is ABI-stable upward and the V8 calls are only made on Node 20.
const nodeInclude = path.join(path.dirname(process.execPath), '../include/node');
const compileFlags = [
  '-fPIC', '-pthread', '-O3', '-fno-omit-frame-pointer', '-fno-rtti',
  ...gyp.cflags_cc,
  // node-gyp's own defines for an addon (common.gypi), then binding.gyp's.
  ...['NODE_GYP_MODULE_NAME=podshm', 'USING_UV_SHARED=1', 'USING_V8_SHARED=1', '_FILE_OFFSET_BITS=64',
    '_LARGEFILE_SOURCE', 'BUILDING_NODE_EXTENSION', ...gyp.defines].map((d) => `-D${d}`),
  `-I${nodeInclude}`,
  `-I${require('node-addon-api').include_dir}`,
];
const linkFlags = [
  '-shared', '-s',
  // Lazy binding, as with node-gyp's build: V8 symbols a newer Node.js lacks are never called there.
  '-Wl,-z,lazy',
  ...gyp.ldflags,
  `-Wl,--version-script=${path.join(__dirname, 'prebuild-exports.map')}`,
];

function zigRun(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(zig, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`zig ${args.slice(0, 3).join(' ')} exited with ${code}`))));
  });
}

async function build({ dir, libc, triple }, tmp) {
  const out = path.join(root, 'prebuilds', dir, `podshm.napi.${libc}.node`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const headers = libstdcxx[triple.split('-')[0]];
  const missing = headers.find((d) => !fs.existsSync(d));
  if (missing) throw new Error(`${missing} is missing: apt-get install libstdc++-12-dev libstdc++-12-dev-arm64-cross`);
  // `zig cc` adds no C++ library of its own, so only libstdc++'s headers are seen. They
  // are configured for glibc: on musl, two glibc names get their musl meaning (they only
  // steer declarations this file does not use; shared_ptr's layout does not depend on them).
  const musl = libc === 'musl' ? ['-D__GLIBC_PREREQ(major,minor)=0', '-D__locale_t=locale_t'] : [];
  // On glibc, shared_ptr's reference counts read glibc's __libc_single_threaded (new in
  // 2.32) to skip atomics, because Zig's glibc headers have <sys/single_threaded.h> whatever
  // the target version; glibc 2.28 to 2.31 would then refuse to load the addon. They read a
  // byte of ours instead: 0 (threads exist), as glibc's is in every Node.js process, whose
  // threads start before any addon loads.
  const glibc = libc === 'glibc' ? ['-D__libc_single_threaded=podshm_libc_single_threaded'] : [];
  const v8Object = path.join(tmp, `v8_sab-${triple}.o`);
  await zigRun(['cc', '-x', 'c++', '-target', triple, ...compileFlags, ...musl, ...glibc, ...headers.map((d) => `-I${d}`), '-c', v8Source, '-o', v8Object]);
  const objects = [v8Object];
  if (libc === 'glibc') {
    const source = path.join(tmp, 'single_threaded.c');
    fs.writeFileSync(source, 'char podshm_libc_single_threaded;\n');
    objects.push(path.join(tmp, `single_threaded-${triple}.o`));
    await zigRun(['cc', '-target', triple, '-fPIC', '-c', source, '-o', objects[1]]);
  }
  await zigRun(['c++', '-target', triple, ...compileFlags, ...linkFlags, ...sources, ...objects, ...gyp.libraries, '-o', out]);
  return out;
}

async function main() {
  if (!fs.existsSync(zig)) throw new Error(`${zig} is missing: run scripts/fetch-zig.sh first`);
  if (!fs.existsSync(path.join(nodeInclude, 'node_api.h'))) throw new Error(`no Node.js headers in ${nodeInclude}`);
  fs.rmSync(path.join(root, 'prebuilds'), { recursive: true, force: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'podshm-prebuildify-'));
  try {
    for (const target of targets) {
      const out = await build(target, tmp);
      console.log(`${path.relative(root, out)} (${target.triple}, ${fs.statSync(out).size} bytes)`);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err.message);
  process.exit(1);
});

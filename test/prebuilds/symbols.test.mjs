// What each shipped prebuild asks of the system that loads it, read from its dynamic
// symbol table with binutils' objdump: the glibc builds need no glibc newer than 2.28
// (what Node 20's official binaries need), the musl builds carry no glibc version and
// take every symbol from musl's libc.so (Debian's, fetched by scripts/fetch-musl.sh) or
// from the Node.js process (Node-API, libuv, V8). None needs a C++ library: libc++ is
// linked in, and only the two Node-API entry points are exported.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { run } from '../helpers.mjs';
import { prebuilds, prebuildsState, root } from './packed.mjs';

const state = prebuildsState();
if (state?.skip) t.skip(state.skip);
else if (state?.fail) t.fail(state.fail);
else await checkAll();

/** { undef: [{ name, version }], defined: [name], needed: [lib], machine } of an ELF file. */
async function dynamic(file) {
  const syms = await run('objdump', ['-T', file]);
  if (syms.code !== 0) throw new Error(`objdump -T ${file}: ${syms.stderr}`);
  const undef = [];
  const defined = [];
  for (const line of syms.stdout.split('\n')) {
    // e.g. "0000000000000000      DF *UND*  0000000000000000 (GLIBC_2.2.5) mmap", where
    // the version may be bare, "Base" or absent.
    const m = /^[0-9a-f]{16} .{7} (\S+)\s+[0-9a-f]{16}\s+(.+)$/.exec(line);
    if (!m) continue;
    const words = m[2].trim().split(/\s+/);
    const name = words.pop();
    const version = words.pop()?.replace(/^\((.*)\)$/, '$1');
    if (m[1] === '*UND*') undef.push({ name, version });
    else defined.push(name);
  }
  const dyn = await run('objdump', ['-p', file]);
  const needed = [...dyn.stdout.matchAll(/^\s+NEEDED\s+(\S+)$/gm)].map((m) => m[1]);
  const header = await run('readelf', ['-h', file]);
  const machine = /Machine:\s+(.+)/.exec(header.stdout)?.[1].trim();
  return { undef, defined, needed, machine };
}

// Provided by the Node.js process: Node-API, libuv and (on Node 20) V8's C++ API. The
// weak __gmon_start__/_ITM_* hooks of the C runtime may stay unresolved.
const fromHost = (name) => /^(napi_|node_api_|uv_|_ZN2v8|_ZNK2v8)/.test(name);
const optionalHooks = new Set(['__gmon_start__', '_ITM_registerTMCloneTable', '_ITM_deregisterTMCloneTable', '__cxa_finalize']);

const glibcVersion = (v) => /^GLIBC_(\d+)\.(\d+)/.exec(v ?? '')?.slice(1).map(Number);
const newerThan228 = (s) => {
  const v = glibcVersion(s.version);
  return v && (v[0] > 2 || (v[0] === 2 && v[1] > 28));
};

async function checkAll() {
  // The check can fail: the node-gyp build of this machine (glibc 2.36) needs newer ones.
  const local = path.join(root, 'build/Release/podshm.node');
  if (fs.existsSync(local)) {
    t.test('the glibc check on the addon node-gyp built here', async (t) => {
      const newer = (await dynamic(local)).undef.filter(newerThan228).map((s) => `${s.name}@${s.version}`);
      t.ok(newer.length > 0, `it finds symbols newer than GLIBC_2.28: ${newer.join(' ')}`);
    });
  }
  for (const p of prebuilds) {
    t.test(p.file, async (t) => {
      const elf = await dynamic(path.join(root, p.file));
      t.equal(elf.machine, p.machine, `built for ${p.arch}`);
      t.same(elf.defined.sort(), ['napi_register_module_v1', 'node_api_module_get_api_version_v1'], 'exports only the Node-API entry points');
      t.notOk(elf.needed.some((l) => /libstdc\+\+|libc\+\+|libgcc_s/.test(l)), `needs no C++ runtime library (NEEDED: ${elf.needed.join(' ')})`);
      t.notOk(elf.undef.some((s) => /^(GLIBCXX|CXXABI|GCC)_/.test(s.version ?? '')), 'no libstdc++ or libgcc_s symbol versions');

      if (p.libc === 'glibc') {
        const versions = elf.undef.map((s) => s.version).filter((v) => v?.startsWith('GLIBC_'));
        const newest = versions.map(glibcVersion).sort((a, b) => b[0] - a[0] || b[1] - a[1])[0];
        t.same(elf.undef.filter(newerThan228), [], `no symbol needs a glibc newer than 2.28 (newest: GLIBC_${newest.join('.')})`);
        // The link against glibc 2.28 versions every symbol that glibc has: one left without
        // a version is one it lacks (as __libc_single_threaded, from 2.32, which libstdc++'s
        // headers read), and loading fails there.
        const unversioned = elf.undef.filter((s) => !fromHost(s.name) && !optionalHooks.has(s.name) && !glibcVersion(s.version));
        t.same(unversioned, [], 'every symbol it takes from the C library is one glibc 2.28 has');
        t.comment(`${p.file}: newest glibc symbol version GLIBC_${newest.join('.')}; NEEDED ${elf.needed.join(' ')}`);
      } else {
        t.same(elf.undef.filter((s) => s.version?.startsWith('GLIBC')), [], 'carries no glibc version tag');
        t.same(elf.needed, ['libc.so'], "needs only musl's libc (its dynamic linker answers to libc.so)");
        const libc = path.join(root, `.cache/musl-${p.arch === 'x64' ? 'amd64' : 'arm64'}/libc.so`);
        if (!fs.existsSync(libc)) {
          t.fail(`${libc} missing: run scripts/fetch-musl.sh`);
          return;
        }
        const musl = new Set((await dynamic(libc)).defined);
        const unresolved = elf.undef.map((s) => s.name).filter((n) => !fromHost(n) && !optionalHooks.has(n) && !musl.has(n));
        t.same(unresolved, [], "every other undefined symbol is exported by musl's libc.so");
        const fromLibc = elf.undef.filter((s) => musl.has(s.name)).length;
        t.comment(`${p.file}: ${fromLibc} symbols from musl's libc.so, ${elf.undef.filter((s) => fromHost(s.name)).length} from Node.js`);
      }
    });
  }
}

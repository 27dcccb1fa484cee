// The layer rule of lib/ (docs/design.md, "Layers"): each folder may import only the
// folders listed for it, so that a new import across a layer fails `npm test`. To
// change a rule, change it here and in docs/design.md, and say why in the commit.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const LIB = fileURLToPath(new URL('../../lib', import.meta.url));

// Folder -> the folders it may import besides itself ('*': any). Node built-ins are always allowed.
const MAY_IMPORT = {
  core: [], // errors, validation, timeouts, names, magic words: nothing of podshm
  addon: ['core'], // the only door to the native binding
  platform: ['core', 'addon'], // facts about this machine: mounts, cgroups, Kubernetes, listings
  wait: ['core', 'addon'], // futex words, the spin policy, the one wait loop
  liveness: ['core', 'addon'], // OFD-lock presence slots
  capacity: ['core', 'addon', 'platform'], // limits and the errors that explain a refusal
  shm: ['core', 'addon', 'platform', 'capacity'], // POSIX and System V shared memory
  mq: ['core', 'addon', 'capacity', 'wait'], // POSIX message queues; the spin policy
  sync: ['core', 'addon', 'wait', 'liveness', 'shm'], // Semaphore, Mutex
  channel: ['core', 'addon', 'wait', 'liveness', 'shm'], // the shared-memory channel
  topic: ['core', 'addon', 'wait', 'liveness', 'platform', 'capacity', 'shm', 'channel'], // publish/subscribe; reuses the channel's wait protocol and layout limits
  service: ['core', 'addon', 'wait', 'liveness', 'shm', 'channel'], // Service and Client: request/response over channels
  admin: ['core', 'addon', 'platform', 'capacity', 'liveness', 'channel', 'topic', 'service'], // doctor, participants for gc, collectStats() over every layout
  webhook: ['core'], // the admission webhook (podshm/webhook)
  cli: ['*'], // the podshm command
};
// Packages outside node: and the folders that may load them.
const PACKAGES = { 'node-gyp-build': ['addon'], msgpackr: ['core'] };

const IMPORT = /(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)['"]([^'"]+)['"]/g;

function sources(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Every import of one file: [specifier, the layer it lands in or null for a package]. */
function importsOf(file, source = fs.readFileSync(file, 'utf8')) {
  const text = source.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
  return [...text.matchAll(IMPORT)].map(([, spec]) => {
    if (!spec.startsWith('.')) return [spec, null];
    const target = path.relative(LIB, path.resolve(path.dirname(file), spec));
    return [spec, target.includes(path.sep) ? target.split(path.sep)[0] : '(lib root)'];
  });
}

t.test('every folder of lib/ has a rule, and only index.ts lies outside the folders', async (t) => {
  const entries = fs.readdirSync(LIB, { withFileTypes: true });
  t.strictSame(entries.filter((e) => e.isDirectory()).map((e) => e.name).sort(), Object.keys(MAY_IMPORT).sort());
  t.strictSame(entries.filter((e) => !e.isDirectory()).map((e) => e.name), ['index.ts']);
});

/** The imports of one file that break its layer's rule, as messages. */
function violations(file, source) {
  const rel = path.relative(LIB, file);
  if (rel === 'index.ts') return [];
  const layer = rel.split(path.sep)[0];
  const allowed = MAY_IMPORT[layer] ?? [];
  const bad = [];
  for (const [spec, target] of importsOf(file, source)) {
    if (target === null) {
      if (spec.startsWith('node:')) continue;
      if (!(PACKAGES[spec] ?? []).includes(layer)) bad.push(`${rel}: package '${spec}' (allowed in: ${(PACKAGES[spec] ?? []).join(', ') || 'nowhere'})`);
    } else if (target !== layer && !allowed.includes('*') && !allowed.includes(target)) {
      bad.push(`${rel}: '${spec}' (${layer} may import ${allowed.join(', ') || 'nothing of podshm'})`);
    }
  }
  return bad;
}

t.test('no module imports across its layer', async (t) => {
  t.strictSame(sources(LIB).flatMap((f) => violations(f)), [], 'imports across a layer');
});

t.test('the checker sees each form of import, and reports an import across a layer', async (t) => {
  // A module that does not exist: only its path and text matter.
  const file = path.join(LIB, 'core', 'example.ts');
  const source = "import { a } from '../shm/sysv';\nexport * from './errors';\nconst n = require('node-gyp-build');\n// import { b } from '../channel/channel';\nimport type { C } from 'node:fs';\nconst d = import('../wait/futex');\n";
  t.strictSame(importsOf(file, source), [
    ['../shm/sysv', 'shm'],
    ['./errors', 'core'],
    ['node-gyp-build', null],
    ['node:fs', null],
    ['../wait/futex', 'wait'],
  ]);
  t.strictSame(violations(file, source), [
    "core/example.ts: '../shm/sysv' (core may import nothing of podshm)",
    "core/example.ts: package 'node-gyp-build' (allowed in: addon)",
    "core/example.ts: '../wait/futex' (core may import nothing of podshm)",
  ]);
});

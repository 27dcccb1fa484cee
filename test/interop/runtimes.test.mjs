// The same addon binary on other Node.js versions (installed by scripts/fetch-node.sh):
// Node-API's external SharedArrayBuffer where the runtime has it, V8 where it does not.
import * as fs from 'node:fs';
import t from 'tap';
import { SharedMemory } from 'podshm';
import { fixture, run, uniqueName } from '../helpers.mjs';

const cache = new URL('../../.cache/', import.meta.url);
const runtimes = fs.existsSync(cache)
  ? fs.readdirSync(cache).filter((d) => d.startsWith('node-')).map((d) => new URL(`${d}/bin/node`, cache).pathname)
  : [];

// node_api_create_external_sharedarraybuffer: Node 22.23.3+, 24.16.0+, 26.1.0+.
function hasNodeApiSab(version) {
  const [major, minor, patch] = version.slice(1).split('.').map(Number);
  if (major === 22) return minor > 23 || (minor === 23 && patch >= 3);
  if (major === 24) return minor >= 16;
  if (major === 25) return false;
  return major >= 26 && (major > 26 || minor >= 1);
}

if (runtimes.length === 0) t.skip('no other Node.js runtimes in .cache/ (run scripts/fetch-node.sh)');

for (const bin of runtimes) {
  t.test(bin, async (t) => {
    const shm = SharedMemory.create(uniqueName('runtime'), 4096);
    t.teardown(() => shm.unlink());
    const words = new Int32Array(shm.buffer);
    words[0] = 41;
    const r = await run(bin, ['--expose-gc', fixture('runtime-check.cjs'), shm.name]);
    t.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    t.equal(out.backend, hasNodeApiSab(out.version) ? 'node-api' : 'v8', `${out.version} builds the buffer the expected way`);
    t.ok(out.isSab, 'instanceof SharedArrayBuffer');
    t.equal(out.seen, 41, 'it read what Node 20 wrote');
    t.equal(words[1], 42, 'Node 20 reads what it wrote');
    t.equal(words[2], 7, 'its worker wrote into the same memory');
    t.equal(out.afterClose, 0, 'a view after close reads zeros, no crash');
  });
}

// Writes each ESM entry as named re-exports of the CommonJS build, so both entry
// points share one copy of every class (no dual-package instanceof surprises).
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const out = path.join(root, 'dist/esm');
// ESM file name -> CommonJS module (package.json "exports" names both).
const entries = { index: 'index', webhook: 'webhook/index' };

fs.mkdirSync(out, { recursive: true });
for (const [name, cjsPath] of Object.entries(entries)) {
  const cjs = `../cjs/${cjsPath}.js`;
  const names = Object.keys(require(path.join(out, cjs))).filter((n) => n !== '__esModule');
  fs.writeFileSync(path.join(out, `${name}.mjs`), `import cjs from '${cjs}';\nexport const { ${names.join(', ')} } = cjs;\nexport default cjs;\n`);
  fs.writeFileSync(path.join(out, `${name}.d.mts`), `export * from '${cjs}';\nexport * as default from '${cjs}';\n`);
}

// Writes the ESM entry as named re-exports of the CommonJS build, so both entry
// points share one copy of every class (no dual-package instanceof surprises).
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const names = Object.keys(require(path.join(root, 'dist/cjs/index.js'))).filter((n) => n !== '__esModule');
const out = path.join(root, 'dist/esm');
fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(
  path.join(out, 'index.mjs'),
  `import cjs from '../cjs/index.js';\nexport const { ${names.join(', ')} } = cjs;\nexport default cjs;\n`,
);
fs.writeFileSync(path.join(out, 'index.d.mts'), `export * from '../cjs/index.js';\nexport * as default from '../cjs/index.js';\n`);

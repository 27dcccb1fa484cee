// Modules below the public surface (lib/index.ts), for the tests that exercise them:
// loaded from the build output by path, so they are the very module instances that
// 'podshm' uses (docs/design.md, "Tests and internals").
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** internal('liveness/presence') is dist/cjs/liveness/presence.js. */
export function internal(module) {
  return require(`../dist/cjs/${module}.js`);
}

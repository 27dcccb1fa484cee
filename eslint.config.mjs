// eslint over the TypeScript of lib/ and the JavaScript of test/, bench/, scripts/ and
// examples/ (npm run lint). Recommended rules only: formatting is left as it is written.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'prebuilds/', 'node_modules/', '.cache/', '.tap/', 'bench/c/bin/'] },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    extends: [js.configs.recommended],
    languageOptions: { globals: { ...globals.node } },
    // An empty catch is how tests and scripts say "best effort" (cleanup of an object
    // that may already be gone); anywhere else a block says why it is empty.
    rules: { 'no-empty': ['error', { allowEmptyCatch: true }] },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
  },
  {
    files: ['lib/**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    languageOptions: { globals: { ...globals.node } },
  },
  {
    // Subcommands load on demand (`podshm ls` does not load the webhook's TLS server):
    // a lazy require() is the CommonJS build's way to do that.
    files: ['lib/cli/main.ts'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);

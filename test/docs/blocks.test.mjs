// The doc-test directives (test/docs/blocks.mjs): what each says, and that one the test
// does not understand, or a skip without its reason, is an error rather than ignored.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { blocksOf, groups, parseDirective } from './blocks.mjs';

t.test('directives', async (t) => {
  t.same(parseDirective('skip (needs a Kubernetes API server)', 'x'), { skip: 'needs a Kubernetes API server' });
  t.same(parseDirective('with-next', 'x'), { skip: null, withNext: true, prelude: '' });
  t.same(parseDirective("prelude: const a = 1;\nconst b = 2;", 'x'), { skip: null, withNext: false, prelude: 'const a = 1;\nconst b = 2;' });
  t.same(parseDirective('with-next prelude: f();', 'x'), { skip: null, withNext: true, prelude: 'f();' });
  t.throws(() => parseDirective('skip', 'a.md:3'), /a\.md:3: "doc-test: skip" needs its reason/);
  t.throws(() => parseDirective('skip ()', 'a.md:3'), /needs its reason/);
  t.throws(() => parseDirective('with-nxt', 'a.md:3'), /unknown doc-test directive "with-nxt"/);
  t.throws(() => parseDirective('prelude:', 'a.md:3'), /unknown doc-test directive/);
});

t.test('blocks, their languages and the comments before them', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'podshm-doc-blocks-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  fs.mkdirSync(path.join(root, 'docs'));
  fs.writeFileSync(path.join(root, 'README.md'), ['# x', '<!-- doc-test: with-next -->', '```js', 'a();', '```', '', 'text', '```mjs', 'b();', '```', '```yaml', 'c: 1', '```', '<!-- doc-test: skip (no cluster here) -->', '', '```sh', 'kubectl get pods', '```'].join('\n'));
  fs.writeFileSync(path.join(root, 'docs', 'a.md'), ['<!-- doc-test: prelude: const m = 1;', 'const n = 2;', '-->', '````ts', '```', 'm + n;', '````'].join('\n'));
  const readme = blocksOf(root, 'README.md');
  t.same(readme.map((b) => [b.line, b.lang, b.code]), [[3, 'js', 'a();\n'], [8, 'mjs', 'b();\n'], [16, 'sh', 'kubectl get pods\n']], 'js, mjs and sh blocks; not yaml');
  t.same(readme.map((b) => b.directive), [{ skip: null, withNext: true, prelude: '' }, null, { skip: 'no cluster here' }]);
  const [ts] = blocksOf(root, 'docs/a.md');
  t.same([ts.lang, ts.code, ts.directive.prelude], ['ts', '```\nm + n;\n', 'const m = 1;\nconst n = 2;'], 'a longer fence holds a shorter one; a prelude spans lines');
  t.same(groups(root).map((g) => g.map((b) => b.where)), [['README.md:3', 'README.md:8'], ['README.md:16'], ['docs/a.md:4']]);
});

t.test('with-next needs a block to run with', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'podshm-doc-blocks-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  fs.mkdirSync(path.join(root, 'docs'));
  fs.writeFileSync(path.join(root, 'README.md'), ['<!-- doc-test: with-next -->', '```js', 'a();', '```'].join('\n'));
  t.throws(() => groups(root), /README\.md:2: "with-next" on the last block of the file/);
  fs.writeFileSync(path.join(root, 'README.md'), ['<!-- doc-test: with-next -->', '```js', 'a();', '```', '<!-- doc-test: skip (why) -->', '```js', 'b();', '```'].join('\n'));
  t.throws(() => groups(root), /README\.md:6: a skipped block cannot be run with the one before it/);
});

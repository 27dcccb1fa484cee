// The code blocks of README.md and docs/*.md, and what their `<!-- doc-test: ... -->`
// comments ask of the test that runs them (CONTRIBUTING.md, "Docs that run").
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Fence languages run as JavaScript or TypeScript, and as shell. */
export const SCRIPT_LANGUAGES = new Set(['js', 'javascript', 'mjs', 'ts', 'typescript']);
export const SHELL_LANGUAGES = new Set(['sh', 'bash', 'shell']);

/** The Markdown files whose blocks are run: README.md and docs/*.md. */
export function documents(root) {
  const docs = fs.readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).sort();
  return ['README.md', ...docs.map((f) => path.join('docs', f))];
}

/**
 * The blocks of one file in order: { file, line, lang, code, directive }, where
 * directive is null or { skip: reason } or { withNext, prelude }. Throws on a directive
 * that says something this test does not understand, so none is silently ignored.
 */
export function blocksOf(root, file) {
  const lines = fs.readFileSync(path.join(root, file), 'utf8').split('\n');
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,})(\S*)\s*$/.exec(lines[i]);
    if (open === null) continue;
    const fence = open[1];
    const lang = open[2].toLowerCase();
    let end = i + 1;
    while (end < lines.length && lines[end].trim() !== fence) end++;
    if (SCRIPT_LANGUAGES.has(lang) || SHELL_LANGUAGES.has(lang)) {
      const where = `${file}:${i + 1}`;
      blocks.push({ file, line: i + 1, where, lang, code: lines.slice(i + 1, end).join('\n') + '\n', directive: directiveBefore(lines, i, where) });
    }
    i = end;
  }
  return blocks;
}

// The `<!-- doc-test: ... -->` comment that ends on the last non-blank line before the
// fence at `fence` (it may span lines: a prelude of several statements).
function directiveBefore(lines, fence, where) {
  let last = fence - 1;
  while (last >= 0 && lines[last].trim() === '') last--;
  if (last < 0 || !lines[last].trimEnd().endsWith('-->')) return null;
  let first = last;
  while (first >= 0 && !lines[first].includes('<!--')) first--;
  if (first < 0) return null;
  const text = lines.slice(first, last + 1).join('\n');
  const m = /<!--\s*doc-test:([\s\S]*)-->\s*$/.exec(text.slice(text.lastIndexOf('<!--')));
  if (m === null) return null;
  return parseDirective(m[1].trim(), where);
}

/** `skip (reason)` | `[with-next] [prelude: <code>]`. */
export function parseDirective(text, where) {
  if (text.startsWith('skip')) {
    const reason = /^skip\s*\((.+)\)$/s.exec(text)?.[1].trim();
    if (!reason) throw new Error(`${where}: "doc-test: skip" needs its reason in parentheses: skip (why this block cannot run here)`);
    return { skip: reason };
  }
  let rest = text;
  const withNext = rest.startsWith('with-next');
  if (withNext) rest = rest.slice('with-next'.length).trim();
  let prelude = '';
  if (rest.startsWith('prelude:')) {
    prelude = rest.slice('prelude:'.length).trim();
    rest = '';
  }
  if (rest !== '' || (!withNext && prelude === '')) {
    throw new Error(`${where}: unknown doc-test directive "${text}" (skip (reason), with-next, prelude: code)`);
  }
  return { skip: null, withNext, prelude };
}

/**
 * The blocks of every document grouped as they run: a group is a block and the blocks
 * its `with-next` chain pulls in (run at once, as separate processes). Skipped blocks
 * form groups of their own.
 */
export function groups(root) {
  const out = [];
  for (const file of documents(root)) {
    const blocks = blocksOf(root, file);
    for (let i = 0; i < blocks.length; i++) {
      const group = [blocks[i]];
      while (group.at(-1).directive?.withNext) {
        const next = blocks[++i];
        if (next === undefined) throw new Error(`${group.at(-1).where}: "with-next" on the last block of the file`);
        if (next.directive?.skip) throw new Error(`${next.where}: a skipped block cannot be run with the one before it`);
        group.push(next);
      }
      out.push(group);
    }
  }
  return out;
}

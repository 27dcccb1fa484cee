// Terminal output for the subcommands: everything fits the terminal's width (80
// columns when stdout is not a terminal), long words are never cut, table columns that
// do not fit are shortened with an ellipsis.

import { printable } from '../core/printable';

export { printable };

/** JSON with the characters that JSON.stringify leaves raw in strings (DEL, C1, bidi overrides) escaped too, so it is safe on a terminal. */
export function json(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(/[\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) + '\n';
}

export function terminalWidth(): number {
  const cols = process.stdout.isTTY ? process.stdout.columns : Number(process.env.COLUMNS);
  return Number.isInteger(cols) && cols >= 20 ? cols : 80;
}

/**
 * Wraps `text` at spaces to `width`. The first line starts with `label` (if any)
 * padded to `indent` columns; every other line is indented by `indent` spaces.
 */
export function wrap(text: string, width: number, label = '', indent = label.length ? label.length + 1 : 0): string {
  const lines: string[] = [];
  let line = label === '' ? '' : label.length >= indent ? `${label} ` : label.padEnd(indent);
  let empty = true;
  for (const paragraph of text.split('\n')) {
    for (const word of paragraph.split(' ').filter(Boolean)) {
      if (!empty && line.length + 1 + word.length > width) {
        lines.push(line);
        line = ' '.repeat(indent);
        empty = true;
      }
      line += (empty ? '' : ' ') + word;
      empty = false;
    }
    lines.push(line);
    line = ' '.repeat(indent);
    empty = true;
  }
  return lines.join('\n');
}

/**
 * Columns of text, left-aligned except the column indexes in `right`. Columns listed in `shrink`
 * give up width, from the widest, when the table is wider than `width`; lines still
 * too wide are cut.
 */
export function table(header: string[], rows: string[][], width: number, opts: { right?: number[]; shrink?: number[] } = {}): string {
  const all = [header, ...rows.map((r) => r.map(printable))];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const total = () => widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1);
  const shrink = opts.shrink ?? [];
  while (total() > width && shrink.length > 0) {
    const i = shrink.reduce((best, j) => (widths[j]! > widths[best]! ? j : best), shrink[0]!);
    const min = Math.max(header[i]!.length, 6);
    if (widths[i]! <= min) break;
    widths[i] = Math.max(min, widths[i]! - (total() - width));
  }
  const cell = (text: string, i: number) => {
    const w = widths[i]!;
    const t = text.length > w ? text.slice(0, w - 1) + '…' : text;
    return opts.right?.includes(i) ? t.padStart(w) : t.padEnd(w);
  };
  // Columns that cannot shrink may still be too wide: cut the lines themselves.
  return all
    .map((r) => r.map((c, i) => cell(c, i)).join('  ').trimEnd())
    .map((line) => (line.length > width ? line.slice(0, width - 1) + '…' : line))
    .join('\n');
}

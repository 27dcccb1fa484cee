// What `podshm <command> --help` prints, and the exit statuses every command shares
// (docs/cli.md, "Exit status").
import { wrap } from './format';

/** Exit statuses: the same meaning for every command. */
export const EXIT = {
  /** Done, nothing wrong found. */
  OK: 0,
  /** Ran to the end, and found or left a problem: doctor's warnings, an object rm or gc could not remove, a demo whose data did not check. */
  PROBLEMS: 1,
  /** The command line is wrong (unknown command or option, bad value); nothing was done. */
  USAGE: 2,
  /** Could not do its work: shared memory unusable, a directory that cannot be read, a server that cannot start, an unexpected error. */
  FAILED: 3,
} as const;

// Help is read on a terminal or in a pager: 80 columns, whatever the terminal's width.
const WIDTH = 80;

/** A command's help: usage, what it does, its options (flag, meaning), and what its exit statuses mean. */
export function helpText(usage: string, about: string, options: [string, string][], exit: string): string {
  const all: [string, string][] = [...options, ['-h, --help', 'print this help and exit']];
  const indent = Math.max(...all.map(([flag]) => flag.length)) + 4;
  return [
    wrap(`usage: ${usage}`, WIDTH, '', 7),
    '',
    wrap(about, WIDTH),
    '',
    'options:',
    ...all.map(([flag, text]) => wrap(text, WIDTH, `  ${flag}`, indent)),
    '',
    wrap(`exit status: ${exit}`, WIDTH, '', 2),
    '',
  ].join('\n');
}

// Option parsing shared by the subcommands: node:util parseArgs, with its errors turned
// into one line that names the command, suggests the flag that was probably meant, and
// shows its usage.
import { parseArgs, type ParseArgsConfig } from 'node:util';

import { UsageError } from '../core/errors';
import { nearest } from '../core/nearest';

type Spec = NonNullable<ParseArgsConfig['options']>;

type Values<S extends Spec> = {
  [K in keyof S]?: S[K]['type'] extends 'string' ? (S[K]['multiple'] extends true ? string[] : string) : boolean;
};

/** True when `args` ask for help (-h or --help before any `--`): main prints the command's help instead of running it. */
export function wantsHelp(args: string[]): boolean {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).some((a) => a === '-h' || a === '--help');
}

/** The flags a command knows, as typed: '--json', '-n'; --help is every command's. */
export function flagNames(options: Spec): string[] {
  return ['--help', ...Object.entries(options).flatMap(([name, o]) => [`--${name}`, ...(o.short ? [`-${o.short}`] : [])])];
}

/** '; did you mean ...?' for a word that is not one of `known` (`typed`: as the user typed it), or ''. */
export function suggestion(word: string, known: readonly string[], typed = word): string {
  const near = nearest(word, known);
  // Not the word itself where it is known but not here ('podshm help --version').
  return near === null || near === typed ? '' : `; did you mean '${near}'?`;
}

// parseArgs names the offending word in quotes: "Unknown option '--jsno'", "Unexpected argument 'x'".
const quoted = (message: string) => /'([^']*)'/.exec(message)?.[1];

export function parse<S extends Spec>(
  command: string,
  usage: string,
  args: string[],
  options: S,
  positionals: 'none' | 'some' | 'any',
): { values: Values<S>; positionals: string[] } {
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: positionals !== 'none', strict: true });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    let line = e.message.split('\n')[0]!;
    const word = quoted(line);
    const known = flagNames(options);
    let hint = '';
    if (word !== undefined && e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') hint = suggestion(word.replace(/=.*$/, ''), known);
    // A flag typed without its dashes ('ls json').
    else if (word !== undefined && e.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') hint = suggestion(`--${word}`, known, word);
    // With a suggestion, parseArgs' advice on names that start with '-' is noise.
    if (hint !== '') line = line.replace(/\. To specify a positional argument.*$/, '');
    throw new UsageError(`${command}: ${line}${hint} (usage: ${usage})`);
  }
  const anyOption = Object.values(parsed.values).some((v) => Array.isArray(v) && v.length > 0);
  if (positionals === 'some' && parsed.positionals.length === 0 && !anyOption) throw new UsageError(`${command}: nothing to do (usage: ${usage})`);
  return { values: parsed.values as Values<S>, positionals: parsed.positionals };
}

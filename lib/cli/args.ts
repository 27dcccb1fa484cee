// Option parsing shared by the subcommands: node:util parseArgs, with its errors turned
// into one line that names the command and shows its usage.
import { parseArgs, type ParseArgsConfig } from 'node:util';

import { UsageError } from '../core/errors';

type Spec = NonNullable<ParseArgsConfig['options']>;

type Values<S extends Spec> = {
  [K in keyof S]?: S[K]['type'] extends 'string' ? (S[K]['multiple'] extends true ? string[] : string) : boolean;
};

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
    throw new UsageError(`${command}: ${(err as Error).message.split('\n')[0]} (usage: ${usage})`);
  }
  const anyOption = Object.values(parsed.values).some((v) => Array.isArray(v) && v.length > 0);
  if (positionals === 'some' && parsed.positionals.length === 0 && !anyOption) throw new UsageError(`${command}: nothing to do (usage: ${usage})`);
  return { values: parsed.values as Values<S>, positionals: parsed.positionals };
}

#!/usr/bin/env node
// The podshm command: each subcommand lives in its own module, loaded on demand.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { PodshmError, UsageError } from '../core/errors';
import { suggestion, wantsHelp } from './args';
import { printable } from './format';
import { EXIT } from './help';

type Command = { run(args: string[]): Promise<number> | number; summary: string; help: string };

const commands: Record<string, () => Command> = {
  demo: () => require('./demo') as Command,
  doctor: () => require('./doctor') as Command,
  ls: () => require('./ls') as Command,
  rm: () => require('./rm') as Command,
  gc: () => require('./gc') as Command,
  webhook: () => require('./webhook') as Command,
  top: () => require('./top') as Command,
  metrics: () => require('./metrics') as Command,
};

function usage(): string {
  const lines = Object.entries(commands).map(([name, load]) => `  ${name.padEnd(8)} ${load().summary}`);
  return (
    `usage: podshm <command> [options]\n       podshm <command> --help\n       podshm --version\n\n` +
    `commands:\n${lines.join('\n')}\n\n` +
    `exit status: ${EXIT.OK} done, ${EXIT.PROBLEMS} problems found, ${EXIT.USAGE} usage error, ${EXIT.FAILED} could not do its work\n`
  );
}

// This file is dist/cjs/cli/main.js; the package's own package.json is three levels up.
function version(): string {
  return (JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
}

function command(name: string): Command {
  const load = commands[name];
  if (load) return load();
  const known = [...Object.keys(commands), 'help', '--help', '--version'];
  throw new UsageError(`unknown command '${printable(name)}'${suggestion(name, known)} (podshm --help lists the commands)`);
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined) {
    process.stderr.write(usage());
    return EXIT.USAGE;
  }
  if (name === '-h' || name === '--help' || (name === 'help' && args.length === 0)) {
    process.stdout.write(usage());
    return EXIT.OK;
  }
  if (name === '-V' || name === '--version') {
    process.stdout.write(`${version()}\n`);
    return EXIT.OK;
  }
  if (name === 'help') {
    if (args.length > 1) throw new UsageError('help takes one command (usage: podshm help <command>)');
    process.stdout.write(command(args[0]!).help);
    return EXIT.OK;
  }
  const cmd = command(name);
  if (wantsHelp(args)) {
    process.stdout.write(cmd.help);
    return EXIT.OK;
  }
  return cmd.run(args);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // One clear line for errors we raise on purpose; a stack for bugs.
    const text = err instanceof PodshmError ? err.message : (err as Error)?.stack ?? String(err);
    process.stderr.write(`podshm: ${text.split('\n').map(printable).join('\n')}\n`);
    process.exitCode = err instanceof UsageError ? EXIT.USAGE : EXIT.FAILED;
  },
);

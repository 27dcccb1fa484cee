#!/usr/bin/env node
// The podshm command: each subcommand lives in its own module, loaded on demand.
import { PodshmError } from '../core/errors';
import { printable } from './format';

type Command = { run(args: string[]): Promise<number> | number; summary: string };

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
  return `usage: podshm <command> [options]\n\n${lines.join('\n')}\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  const load = commands[name];
  if (!load) {
    process.stderr.write(`podshm: unknown command '${printable(name)}'\n${usage()}`);
    return 2;
  }
  return load().run(args);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // One clear line for errors we raise on purpose; a stack for bugs.
    const text = err instanceof PodshmError ? err.message : (err as Error)?.stack ?? String(err);
    process.stderr.write(`podshm: ${text.split('\n').map(printable).join('\n')}\n`);
    process.exitCode = 2;
  },
);

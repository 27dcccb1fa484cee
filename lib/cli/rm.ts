// `podshm rm NAME...`: removes POSIX shm objects by name. An object a live participant
// still uses is kept unless --force: removing its name would split it from processes
// that open it later.
import * as path from 'node:path';

import { PodshmError, UsageError } from '../errors';
import { DEFAULT_SHM_DIR } from '../limits';
import { posixName } from '../names';
import { SharedMemory } from '../posix_shm';
import { parse } from './args';

export const summary = 'remove shm objects by name (not ones in use, unless --force)';

const USAGE = 'podshm rm [--force] [--dir PATH] NAME...';

export function run(args: string[]): number {
  const { values, positionals } = parse('rm', USAGE, args, { force: { type: 'boolean' }, dir: { type: 'string' } }, 'some');
  if (values.dir === '') throw new UsageError(`rm: --dir needs a path (usage: ${USAGE})`);
  const dir = path.resolve(values.dir ?? DEFAULT_SHM_DIR);
  let failed = 0;
  for (const raw of positionals) {
    try {
      const name = posixName(raw, 'shm_unlink');
      SharedMemory.unlink(name, { dir });
      process.stdout.write(`removed ${name}\n`);
    } catch (err) {
      failed++;
      const text = err instanceof PodshmError ? err.message : String((err as Error).message);
      process.stderr.write(`podshm rm: ${text}\n`);
    }
  }
  return failed === 0 ? 0 : 1;
}

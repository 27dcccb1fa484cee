// `podshm rm NAME...`: removes POSIX shm objects by name. An object a live participant
// still uses is kept unless --force: removing its name would split it from processes
// that open it later.
import * as path from 'node:path';

import { PodshmError, SystemError, UsageError } from '../errors';
import { DEFAULT_SHM_DIR } from '../limits';
import { posixName } from '../names';
import { liveParticipants, removeIfAbandoned } from '../participants';
import { SharedMemory } from '../posix_shm';
import { objectKind } from '../shm_objects';
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
      const file = path.join(dir, name.slice(1));
      if (values.force || objectKind(file) === 'plain') {
        SharedMemory.unlink(name, { dir });
      } else {
        const result = removeIfAbandoned(file, false);
        if (result === 'gone') throw new SystemError('ENOENT', 'unlink', name);
        if (result === 'live') {
          const n = liveParticipants(file);
          throw new SystemError('EBUSY', 'unlink', name, `in use by ${n} live participant${n === 1 ? '' : 's'} (--force removes it anyway)`);
        }
      }
      process.stdout.write(`removed ${name}\n`);
    } catch (err) {
      failed++;
      const text = err instanceof PodshmError ? err.message : String((err as Error).message);
      process.stderr.write(`podshm rm: ${text}\n`);
    }
  }
  return failed === 0 ? 0 : 1;
}

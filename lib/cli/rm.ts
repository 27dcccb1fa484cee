// `podshm rm NAME... [--sysv KEY|id:ID]...`: removes POSIX shm objects by name and System V
// segments by key or id. An object a live participant still uses is kept unless --force:
// removing its name would split it from processes that open it later. (A System V
// segment removed while attached lives on until its last detach, so it needs no check.)
import * as path from 'node:path';

import { PodshmError, SystemError, UsageError } from '../core/errors';
import { DEFAULT_SHM_DIR } from '../capacity/limits';
import { posixName } from '../core/names';
import { removeBell } from '../channel/bell';
import { liveParticipants, removeIfAbandoned } from '../admin/participants';
import { SharedMemory } from '../shm/shared_memory';
import { RECORDS_PARTICIPANTS, objectKind } from '../platform/shm_list';
import { SysVSharedMemory, type SysVTarget } from '../shm/sysv';
import { parse } from './args';
import { printable } from './format';
import { EXIT, helpText } from './help';

export const summary = 'remove shm objects (not ones in use) and System V segments';

const USAGE = 'podshm rm [--force] [--dir PATH] NAME... [--sysv KEY|id:ID]...';
export const help = helpText(
  USAGE,
  "Removes POSIX shm objects by name (/name or name), except one a live participant uses or one that does not record who uses it (a semaphore, a mutex), and System V segments by key or id. A name that starts with '-' goes after '--'.",
  [
    ['--force', 'remove the named objects even if they may be in use'],
    ['--sysv KEY|id:ID', 'a System V segment: its key (0x1234abcd or decimal, as ipcs prints it) or id:N; repeatable'],
    ['--dir PATH', 'the directory of POSIX shm objects: /dev/shm (the default) or where a Memory emptyDir is mounted'],
  ],
  '0 all removed, 1 some could not be removed (one line each on stderr), 2 usage error',
);

// Keys as ipcs prints them (0x...) or decimal; ids as id:N.
function sysvTarget(arg: string): SysVTarget {
  const id = /^id:(\d+)$/.exec(arg);
  if (id && Number(id[1]) <= 2 ** 31 - 1) return { id: Number(id[1]) };
  // A key is 32 bits, signed as ipcs may print it or not.
  const key = /^0x[0-9a-f]{1,8}$/i.test(arg) || /^-?\d+$/.test(arg) ? Number(arg) : NaN;
  // 0 is IPC_PRIVATE, no key at all: such a segment is removed by id.
  if (key >= -(2 ** 31) && key <= 2 ** 32 - 1 && key !== 0) return key;
  throw new UsageError(`rm: --sysv takes a 32-bit key (0x1234abcd or decimal) or id:N (a private segment, key 0, only by id), not '${arg}' (usage: ${USAGE})`);
}

export function run(args: string[]): number {
  const options = { force: { type: 'boolean' }, dir: { type: 'string' }, sysv: { type: 'string', multiple: true } } as const;
  const { values, positionals } = parse('rm', USAGE, args, options, 'some');
  if (values.dir === '') throw new UsageError(`rm: --dir needs a path (usage: ${USAGE})`);
  const dir = path.resolve(values.dir ?? DEFAULT_SHM_DIR);
  const segments = (values.sysv ?? []).map((arg) => ({ arg, target: sysvTarget(arg) }));
  let failed = 0;
  for (const { arg, target } of segments) {
    try {
      SysVSharedMemory.unlink(target);
      process.stdout.write(`removed System V segment ${printable(arg)}\n`);
    } catch (err) {
      failed++;
      process.stderr.write(`podshm rm: ${err instanceof PodshmError ? err.message : String((err as Error).message)}\n`);
    }
  }
  for (const raw of positionals) {
    try {
      const name = posixName(raw, 'shm_unlink');
      const file = path.join(dir, name.slice(1));
      const kind = values.force ? 'plain' : objectKind(file);
      if (kind === 'unreadable') {
        throw new SystemError('EACCES', 'unlink', name, 'cannot read it to tell what it is or who uses it (--force removes it anyway)');
      }
      if (kind !== 'plain' && !RECORDS_PARTICIPANTS.has(kind)) {
        throw new SystemError('EBUSY', 'unlink', name, `a ${kind} does not record who has it open, so it may be in use (--force removes it anyway)`);
      }
      if (kind === 'plain') {
        SharedMemory.unlink(name, { dir });
        removeBell(file);
      } else {
        const result = removeIfAbandoned(file, false);
        if (result === 'gone') throw new SystemError('ENOENT', 'unlink', name);
        if (result === 'live') {
          const n = liveParticipants(file);
          throw new SystemError('EBUSY', 'unlink', name, `in use by ${n} live participant${n === 1 ? '' : 's'} (--force removes it anyway)`);
        }
      }
      process.stdout.write(`removed ${printable(name)}\n`);
    } catch (err) {
      failed++;
      const text = err instanceof PodshmError ? err.message : String((err as Error).message);
      process.stderr.write(`podshm rm: ${printable(text)}\n`);
    }
  }
  return failed === 0 ? EXIT.OK : EXIT.PROBLEMS;
}

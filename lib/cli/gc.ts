// `podshm gc`: removes podshm objects that no live process uses any more, those left
// behind by crashed or OOM-killed participants. Only kinds whose every attached process
// holds a liveness lock (docs/design.md, "Liveness") can be judged: channels. A mutex is locked
// only by its current owner and a semaphore by nobody, so an idle one looks abandoned
// while processes still have it open; they, and plain objects, are never removed.
// Nor is an object with a live participant (lib/admin/participants.ts), or one younger than
// --min-age: its creator may not have claimed its place yet.
import * as path from 'node:path';

import { PodshmError, UsageError } from '../core/errors';
import { DEFAULT_SHM_DIR, formatBytes } from '../capacity/limits';
import { removeIfAbandoned } from '../admin/participants';
import { RECORDS_PARTICIPANTS, listShmObjects, type ObjectKind } from '../platform/shm_list';
import { parse } from './args';
import { json, printable, terminalWidth, wrap } from './format';
import { EXIT, helpText } from './help';

export const summary = 'remove podshm objects whose participants all died';

const USAGE = 'podshm gc [--dry-run] [--json] [--min-age SECONDS] [--dir PATH]';
export const GC_SCHEMA_VERSION = 1;
const DEFAULT_MIN_AGE = 10;
export const help = helpText(
  USAGE,
  'Removes the podshm objects in --dir that no live process uses any more (left by crashed or OOM-killed participants). Only channels record every participant; other kinds are kept.',
  [
    ['--dry-run', 'say what would be removed, remove nothing'],
    ['--json', 'the result as one JSON document (docs/cli.md gives its shape)'],
    ['--min-age SECONDS', `keep objects younger than this: their creator may not have joined yet (default ${DEFAULT_MIN_AGE})`],
    ['--dir PATH', 'the directory of POSIX shm objects: /dev/shm (the default) or where a Memory emptyDir is mounted'],
  ],
  '0 done, 1 an object could not be checked or removed, 2 usage error, 3 --dir cannot be read',
);

export interface GcEntry {
  name: string;
  kind: ObjectKind;
  size: number;
  /** 'removed', 'would-remove' (--dry-run), 'kept' or 'failed'. */
  action: 'removed' | 'would-remove' | 'kept' | 'failed';
  /**
   * Why kept or failed: 'live' (a participant holds its lock), 'new' (younger than
   * --min-age), 'unregistered' (its kind does not record who has it open), 'gone', or the error.
   */
  reason: string | null;
}

function progress(done: number, total: number): void {
  if (process.stderr.isTTY && total >= 100) process.stderr.write(done < total ? `\rgc: checked ${done}/${total}` : '\r\x1b[K');
}

export function run(args: string[]): number {
  const { values } = parse('gc', USAGE, args, {
    'dry-run': { type: 'boolean' },
    json: { type: 'boolean' },
    'min-age': { type: 'string' },
    dir: { type: 'string' },
  }, 'none');
  if (values.dir === '') throw new UsageError(`gc: --dir needs a path (usage: ${USAGE})`);
  const minAge = values['min-age'] === undefined ? DEFAULT_MIN_AGE : Number(values['min-age']);
  if (values['min-age'] === '' || !Number.isFinite(minAge) || minAge < 0) {
    throw new UsageError(`gc: --min-age must be a number of seconds >= 0, not '${values['min-age']}' (usage: ${USAGE})`);
  }
  const dryRun = values['dry-run'] === true;
  const dir = path.resolve(values.dir ?? DEFAULT_SHM_DIR);
  let objects;
  try {
    objects = listShmObjects(dir).filter((o) => o.kind !== 'plain');
  } catch (err) {
    throw new PodshmError(`gc: cannot list ${dir}: ${(err as Error).message}`, 'EGC');
  }

  const entries: GcEntry[] = [];
  objects.forEach((o, i) => {
    progress(i, objects.length);
    const entry: GcEntry = { name: o.name, kind: o.kind, size: o.size, action: 'kept', reason: null };
    if (!RECORDS_PARTICIPANTS.has(o.kind)) {
      entry.reason = 'unregistered';
    } else if (Date.now() - o.birthtime < minAge * 1000) {
      entry.reason = 'new';
    } else {
      try {
        const result = removeIfAbandoned(o.path, dryRun, o);
        if (result === 'removed') entry.action = 'removed';
        else if (result === 'abandoned') entry.action = 'would-remove';
        else entry.reason = result;
      } catch (err) {
        entry.action = 'failed';
        entry.reason = (err as Error).message;
      }
    }
    entries.push(entry);
  });
  progress(objects.length, objects.length);

  const failed = entries.filter((e) => e.action === 'failed').length;
  if (values.json) {
    process.stdout.write(json({ schemaVersion: GC_SCHEMA_VERSION, dir, dryRun, minAge, objects: entries }));
    return failed === 0 ? EXIT.OK : EXIT.PROBLEMS;
  }
  const width = terminalWidth();
  const because = (e: GcEntry): string =>
    ({
      live: 'a participant is alive',
      new: `younger than ${minAge} s`,
      unregistered: `a ${e.kind} does not record who has it open`,
      gone: 'removed by someone else meanwhile',
    })[e.reason!] ?? e.reason!;
  for (const e of entries) {
    const what = `${e.name} (${e.kind}, ${formatBytes(e.size)})`;
    const line = e.action === 'removed' ? `removed ${what}`
      : e.action === 'would-remove' ? `would remove ${what}`
      : e.action === 'failed' ? `failed ${what}: ${e.reason}`
      : `kept ${what}: ${because(e)}`;
    (e.action === 'failed' ? process.stderr : process.stdout).write(wrap(printable(line), width, '', 2) + '\n');
  }
  const freed = entries.filter((e) => e.action === 'removed' || e.action === 'would-remove');
  const kept = entries.filter((e) => e.action === 'kept').length;
  process.stdout.write(
    `gc: ${dryRun ? 'would remove' : 'removed'} ${freed.length} of ${entries.length} podshm object${entries.length === 1 ? '' : 's'} in ${printable(dir)}` +
      ` (${formatBytes(freed.reduce((n, e) => n + e.size, 0))}), kept ${kept}${failed ? `, ${failed} failed` : ''}\n`,
  );
  return failed === 0 ? EXIT.OK : EXIT.PROBLEMS;
}

// `podshm ls`: the shared memory of this container and its pod: POSIX shm objects in
// /dev/shm (what podshm layout each is, and who still uses it), System V segments and
// POSIX message queues of the IPC namespace.
import * as path from 'node:path';

import { UsageError } from '../core/errors';
import { DEFAULT_SHM_DIR, formatBytes } from '../capacity/limits';
import { listMessageQueues, type MessageQueueList } from '../platform/mq_list';
import { liveParticipants } from '../admin/participants';
import { COUNTS_PARTICIPANTS, listShmObjects, type ShmObject } from '../platform/shm_list';
import { listSegments } from '../platform/sysv_list';
import { parse } from './args';
import { json, printable, table, terminalWidth } from './format';
import { EXIT, helpText } from './help';
import { userName } from './users';
import { collectStats, type ClientFigures, type ObjectStats, type ServiceFigures } from '../admin/stats';

export const summary = 'list shm objects, System V segments and message queues';

const USAGE = 'podshm ls [--json] [--dir PATH]';
export const help = helpText(
  USAGE,
  'Lists the POSIX shm objects in --dir (the podshm kind of each, and its live participants), the System V segments and the POSIX message queues of this IPC namespace.',
  [
    ['--json', 'the listing as one JSON document (docs/cli.md gives its shape)'],
    ['--dir PATH', 'the directory of POSIX shm objects: /dev/shm (the default) or where a Memory emptyDir is mounted'],
  ],
  '0 listed, 2 usage error, 3 --dir cannot be read',
);
export const LS_SCHEMA_VERSION = 1;

export interface ListedObject extends Omit<ShmObject, 'mode'> {
  owner: string;
  mode: string;
  /** Live participants (lib/admin/participants.ts) of a kind that takes liveness locks; null for any other object (a semaphore records nobody) or when it cannot be checked. */
  live: number | null;
  /** A topic's farthest subscriber lag in bytes (lib/topic/figures.ts); null for any other object, or a topic whose figures cannot be read. */
  lag: number | null;
  /** A channel that is a service's request ring, or a client's response ring (lib/service/figures.ts). */
  role: 'service' | 'client' | null;
  /** A service's server, clients and calls in flight (collectStats()); null for any other object. */
  service: ServiceFigures | null;
  /** A client's service and calls in flight; null for any other object. */
  client: ClientFigures | null;
}

export interface Listing {
  schemaVersion: number;
  posix: { dir: string; objects: ListedObject[]; error: string | null };
  sysv: {
    segments: { key: number; keyHex: string; id: number; size: number; owner: string; uid: number; gid: number; mode: string; attached: number; creatorPid: number; lastPid: number }[];
    error: string | null;
  };
  mqueue: { source: MessageQueueList['source']; queues: (Omit<MessageQueueList['queues'][number], 'mode'> & { owner: string; mode: string })[]; error: string | null };
}

function participants(file: string): number | null {
  try {
    return liveParticipants(file);
  } catch {
    return null; // no permission to open it, or gone meanwhile
  }
}

const octal = (mode: number) => '0' + mode.toString(8).padStart(3, '0');
const message = (err: unknown) => (err as Error).message;

export function listing(dir: string): Listing {
  let objects: ListedObject[] = [];
  let posixError: string | null = null;
  try {
    // The figures of topics and services, read as `podshm top` reads them.
    const stats = new Map<string, ObjectStats>(collectStats({ dir, sysv: false, mqueue: false }).objects.map((s) => [s.id, s]));
    objects = listShmObjects(dir).map((o) => {
      const s = stats.get(`${o.dev}:${o.ino}`);
      const role = s?.kind === 'service' || s?.kind === 'client' ? s.kind : null;
      const live = COUNTS_PARTICIPANTS.has(o.kind) ? participants(o.path) : null;
      return { ...o, owner: userName(o.uid), mode: octal(o.mode), live, lag: s?.topic?.maxLagBytes ?? null, role, service: s?.service ?? null, client: s?.client ?? null };
    });
  } catch (err) {
    posixError = message(err);
  }
  let segments: Listing['sysv']['segments'] = [];
  let sysvError: string | null = null;
  try {
    segments = listSegments().map((s) => ({
      key: s.key >>> 0,
      keyHex: '0x' + (s.key >>> 0).toString(16).padStart(8, '0'),
      id: s.id,
      size: s.size,
      owner: userName(s.uid),
      uid: s.uid,
      gid: s.gid,
      mode: octal(s.mode),
      attached: s.attachCount,
      creatorPid: s.creatorPid,
      lastPid: s.lastPid,
    }));
  } catch (err) {
    sysvError = message(err);
  }
  const mq = listMessageQueues();
  return {
    schemaVersion: LS_SCHEMA_VERSION,
    posix: { dir, objects, error: posixError },
    sysv: { segments, error: sysvError },
    mqueue: { ...mq, queues: mq.queues.map((q) => ({ ...q, owner: userName(q.uid), mode: octal(q.mode) })) },
  };
}

function section(title: string, error: string | null, rows: string[][], render: () => string): string {
  if (error !== null) return `${printable(title)}: ${printable(error)}\n`;
  return `${title}: ${rows.length === 0 ? 'none' : `${rows.length}`}\n${rows.length === 0 ? '' : render() + '\n'}`;
}

function render(l: Listing, width: number): string {
  const count = (n: number | null | undefined) => (n === null || n === undefined ? '-' : String(n));
  const posixRows = l.posix.objects.map((o) => [
    o.name,
    formatBytes(o.size),
    o.owner,
    o.mode,
    o.role ?? o.kind,
    count(o.live),
    o.lag === null ? '-' : formatBytes(o.lag),
    count(o.service?.clientsLive),
    count(o.service?.callsInFlight ?? o.client?.callsInFlight),
  ]);
  const sysvRows = l.sysv.segments.map((s) => [s.keyHex, String(s.id), formatBytes(s.size), s.owner, s.mode, String(s.attached), String(s.creatorPid)]);
  const mqRows = l.mqueue.queues.map((q) => [q.name, q.owner, q.mode, q.queuedBytes === null ? '-' : formatBytes(q.queuedBytes)]);
  const mqTitle = `POSIX message queues${l.mqueue.source === '/dev/mqueue' ? ' (as /dev/mqueue shows them)' : ''}`;
  return [
    section(`POSIX shared memory in ${l.posix.dir}`, l.posix.error, posixRows, () =>
      table(['NAME', 'SIZE', 'OWNER', 'MODE', 'KIND', 'LIVE', 'LAG', 'CLIENTS', 'CALLS'], posixRows, width, { right: [1, 5, 6, 7, 8], shrink: [0, 2] })),
    section('System V shared memory', l.sysv.error, sysvRows, () =>
      table(['KEY', 'ID', 'SIZE', 'OWNER', 'MODE', 'NATTCH', 'CPID'], sysvRows, width, { right: [1, 2, 5, 6], shrink: [3] })),
    section(mqTitle, l.mqueue.error, mqRows, () => table(['NAME', 'OWNER', 'MODE', 'QUEUED'], mqRows, width, { right: [3], shrink: [0, 1] })),
  ].join('\n');
}

export function run(args: string[]): number {
  const { values } = parse('ls', USAGE, args, { json: { type: 'boolean' }, dir: { type: 'string' } }, 'none');
  if (values.dir === '') throw new UsageError(`ls: --dir needs a path (usage: ${USAGE})`);
  const l = listing(path.resolve(values.dir ?? DEFAULT_SHM_DIR));
  process.stdout.write(values.json ? json(l) : render(l, terminalWidth()));
  return l.posix.error === null ? EXIT.OK : EXIT.FAILED;
}

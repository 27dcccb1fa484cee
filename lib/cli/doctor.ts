// `podshm doctor`: what this container can use for shared memory, what will go wrong,
// and the fix. Exit status 0 healthy, 1 warnings, 3 unusable (2: a usage error).
import * as path from 'node:path';

import { diagnose, raiseLimit, type DoctorReport } from '../admin/doctor';
import { UsageError } from '../core/errors';
import { formatBytes } from '../capacity/limits';
import { parse } from './args';
import { json, terminalWidth, wrap } from './format';
import { helpText } from './help';

export const summary = 'what this container can use for shared memory, and what to fix';

const USAGE = 'podshm doctor [--json] [--dir PATH]';
export const help = helpText(
  USAGE,
  'What this container can use for shared memory (the shm directory, the memory cgroup, message queue and System V limits), what will go wrong, and the fix.',
  [
    ['--json', 'the report as one JSON document (docs/cli.md gives its shape)'],
    ['--dir PATH', 'the directory of POSIX shm objects: /dev/shm (the default) or where a Memory emptyDir is mounted'],
  ],
  '0 healthy, 1 warnings, 2 usage error, 3 shared memory is unusable here',
);
const KEY = 16;

const bytes = (n: number | null, unset = 'unlimited') => (n === null ? unset : formatBytes(n));
const count = (n: number | null) => (n === null ? 'unknown' : String(n));

function facts(r: DoctorReport): [string, string][] {
  const { shm, cgroup, mqueue, sysv } = r;
  const shmLine = !shm.exists
    ? `unusable: ${shm.error}`
    : `${shm.fsType}, ${shm.limited === false ? 'no size limit' : `${bytes(shm.size)}, ${bytes(shm.free)} free`}` +
      (shm.containerDefault ? " (the container runtime's 64 MiB default)" : '') +
      (shm.writable ? '' : `; cannot create objects: ${shm.error}`);
  const cgroupLine = cgroup === null
    ? 'none found'
    : `v${cgroup.version}, limit ${bytes(cgroup.limit)}, usage ${formatBytes(cgroup.usage)}, working set ${formatBytes(cgroup.workingSet)}` +
      (cgroup.headroom === null ? '' : `, headroom ${formatBytes(cgroup.headroom)}`);
  const k = r.kubernetes;
  return [
    [shm.path, shmLine],
    ['memory cgroup', cgroupLine],
    ['mqueue', `msg_max ${count(mqueue.msgMax)}, msgsize_max ${bytes(mqueue.msgsizeMax, 'unknown')}, queues_max ${count(mqueue.queuesMax)}, RLIMIT_MSGQUEUE ${bytes(mqueue.rlimitMsgqueue)}`],
    ['System V shm', `shmmax ${bytes(sysv.shmmax)}, shmall ${sysv.shmall === null ? 'unlimited' : `${sysv.shmall} pages`}, shmmni ${count(sysv.shmmni)}`],
    ['IPC namespace', `${r.ipcNamespace.id ?? 'unknown'}${r.ipcNamespace.host ? " (the host's)" : ''}`],
    ['Kubernetes', k.detected ? `yes${k.namespace ? `, namespace ${k.namespace}` : ''} (${k.evidence.join(', ')})` : 'not detected'],
  ];
}

function render(r: DoctorReport, width: number): string {
  const out: string[] = [];
  const warnings = r.findings.filter((f) => f.severity === 'warning').length;
  const errors = r.findings.filter((f) => f.severity === 'error').length;
  out.push(`podshm doctor: ${r.status === 'healthy' ? 'healthy' : r.status === 'unusable' ? `shared memory is unusable (${errors} error${errors === 1 ? '' : 's'})` : `${warnings} warning${warnings === 1 ? '' : 's'}`}`, '');
  for (const [key, value] of facts(r)) out.push(wrap(value, width, key, KEY));
  if (r.findings.length > 0) out.push('');
  for (const f of r.findings) out.push(wrap(f.message, width, f.severity, 9));
  const needsEmptyDir = r.findings.some((f) => ['SHM_MISSING', 'SHM_NOT_MEMORY', 'SHM_RUNTIME_DEFAULT', 'SHM_EXCEEDS_HEADROOM'].includes(f.code));
  if (needsEmptyDir && r.emptyDir) {
    out.push(
      '',
      wrap(`Fix: mount this Memory emptyDir at ${r.shm.path} in every container of the pod that shares memory; sizeLimit is ${r.emptyDir.ratio * 100}% of the ${formatBytes(r.cgroup!.limit!)} memory limit (use the smallest limit among the containers that write)${raiseLimit(r.emptyDir, r.cgroup)}:`, width),
      '',
      r.emptyDir.yaml,
    );
  } else if (needsEmptyDir) {
    out.push('', wrap(`Fix: set resources.limits.memory on every container, then mount a Memory emptyDir at ${r.shm.path} in each with a sizeLimit of at most half the smallest limit, and no more than each container's limit leaves beside its own memory.`, width));
  }
  return out.join('\n') + '\n';
}

export function run(args: string[]): number {
  const { values } = parse('doctor', USAGE, args, { json: { type: 'boolean' }, dir: { type: 'string' } }, 'none');
  if (values.dir === '') throw new UsageError(`doctor: --dir needs a path (usage: ${USAGE})`);
  const report = diagnose(values.dir === undefined ? {} : { dir: path.resolve(values.dir) });
  process.stdout.write(values.json ? json(report) : render(report, terminalWidth()));
  return report.exitCode;
}

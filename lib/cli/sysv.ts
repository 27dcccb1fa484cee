// `podshm sysv`: the System V segments of this IPC namespace (in a pod: of the pod),
// with attach counts and the namespace limits, and removal of one segment.
import { formatBytes, probeSysv } from '../limits';
import { SysVSharedMemory, type SysVTarget } from '../sysv';

export const summary = 'list System V segments with attach counts (--json), or rm <key>|id:<id>';

const USAGE = 'usage: podshm sysv [list] [--json] | podshm sysv rm <key>|id:<id>\n';

function hexKey(key: number): string {
  return '0x' + (key >>> 0).toString(16).padStart(8, '0');
}

function list(json: boolean): number {
  const segments = SysVSharedMemory.list();
  if (json) {
    process.stdout.write(JSON.stringify({ limits: probeSysv(), segments }, null, 2) + '\n');
    return 0;
  }
  const rows = segments.map((s) => [
    hexKey(s.key),
    String(s.id),
    s.mode.toString(8).padStart(4, '0'),
    formatBytes(s.size),
    String(s.attachCount),
    String(s.creatorPid),
    String(s.uid),
    s.removed ? 'removed' : '',
  ]);
  const header = ['KEY', 'ID', 'MODE', 'SIZE', 'ATTACHED', 'CPID', 'UID', ''];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const row of [header, ...rows]) {
    process.stdout.write(row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd() + '\n');
  }
  const l = probeSysv();
  const show = (n: number | null, unit = '') => (n === null ? 'unlimited' : `${n}${unit}`);
  process.stdout.write(
    `\n${segments.length} segment${segments.length === 1 ? '' : 's'}; limits of this IPC namespace: shmmax ${show(l.shmmax, ' bytes')}, ` +
      `shmall ${show(l.shmall, ' pages')}, shmmni ${show(l.shmmni)}\n`,
  );
  return 0;
}

// Keys as ipcs prints them (0x...) or as decimal; ids as id:N.
function parseTarget(arg: string): SysVTarget | null {
  const id = /^id:(\d+)$/.exec(arg);
  if (id) return { id: Number(id[1]) };
  if (/^0x[0-9a-f]{1,8}$/i.test(arg) || /^-?\d+$/.test(arg)) return Number(arg);
  return null;
}

export function run(args: string[]): number {
  const [cmd = 'list', ...rest] = args[0]?.startsWith('--') ? ['list', ...args] : args;
  if (cmd === 'list' && rest.every((a) => a === '--json')) return list(rest.includes('--json'));
  if (cmd === 'rm' && rest.length === 1) {
    const target = parseTarget(rest[0]!);
    if (target !== null) {
      SysVSharedMemory.remove(target);
      return 0;
    }
  }
  process.stderr.write(USAGE);
  return 2;
}

// The System V shared memory segments of this IPC namespace, from /proc/sysvipc/shm.
import * as fs from 'node:fs';

export interface SysvSegment {
  /** The IPC key (0 is IPC_PRIVATE). */
  key: number;
  id: number;
  mode: number;
  size: number;
  creatorPid: number;
  lastPid: number;
  /** Number of attaches (shm_nattch). */
  attached: number;
  uid: number;
  gid: number;
}

/** Throws when /proc/sysvipc/shm cannot be read. */
export function listSysvSegments(file = '/proc/sysvipc/shm'): SysvSegment[] {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const columns = (lines[0] ?? '').trim().split(/\s+/);
  const at = (name: string) => columns.indexOf(name);
  const out: SysvSegment[] = [];
  for (const line of lines.slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < columns.length) continue;
    const n = (name: string) => Number(f[at(name)]);
    out.push({
      key: n('key') >>> 0,
      id: n('shmid'),
      mode: parseInt(f[at('perms')]!, 8) & 0o777,
      size: n('size'),
      creatorPid: n('cpid'),
      lastPid: n('lpid'),
      attached: n('nattch'),
      uid: n('uid'),
      gid: n('gid'),
    });
  }
  return out;
}

// /proc/self/mountinfo, for what statfs does not tell: where a filesystem is mounted,
// which mount a directory is on, and what that mount was made from.
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface MountEntry {
  /** The part of the filesystem mounted here ('/' for all of it). */
  root: string;
  point: string;
  fstype: string;
  /** What it was mounted from: 'shm' for a container runtime's /dev/shm, 'tmpfs' for a kubelet's Memory emptyDir. */
  source: string;
  superOptions: string;
}

/** This process's mounts, in mount order; none if /proc is not there. */
export function mounts(): MountEntry[] {
  let text: string;
  try {
    text = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const fields = left.split(' ');
    const [fstype, source, superOptions] = right.split(' ');
    const root = fields[3];
    const point = fields[4];
    if (!root || !point || !fstype) continue;
    out.push({ root: unescape(root), point: unescape(point), fstype, source: unescape(source ?? ''), superOptions: superOptions ?? '' });
  }
  return out;
}

/** The mount `dir` is on: the last one at the longest mount point above it; null if unknown. */
export function mountOf(dir: string): MountEntry | null {
  let real: string;
  try {
    real = fs.realpathSync(dir);
  } catch {
    return null;
  }
  let best: MountEntry | null = null;
  for (const m of mounts()) {
    const inside = real === m.point || real.startsWith(m.point === '/' ? '/' : m.point + path.sep);
    if (inside && (best === null || m.point.length >= best.point.length)) best = m;
  }
  return best;
}

// mountinfo escapes spaces and a few other bytes as \ooo.
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

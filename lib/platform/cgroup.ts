// The memory cgroup this process is charged to, v1 or v2, found the way container
// runtimes expose it: /proc/self/cgroup for the path, /proc/self/mountinfo for where
// the hierarchy is mounted (and which part of it this namespace sees).
import * as fs from 'node:fs';
import * as path from 'node:path';

import { mounts } from './mountinfo';

export interface MemoryCgroup {
  version: 1 | 2;
  /** Directory of this process's cgroup in the mounted hierarchy. */
  dir: string;
  /** The cgroup (this one or an ancestor) whose limit binds. */
  limitDir: string;
  /** Tightest limit on the way to the root of the mounted hierarchy, or null if unlimited. */
  limit: number | null;
  /** Usage of the cgroup that sets that limit (this one if unlimited). */
  usage: number;
  /** usage minus inactive file cache: what the kernel cannot simply drop (the OOM killer's view). */
  workingSet: number;
  /** Bytes that can still be charged before some cgroup on the path hits its limit; null if unlimited. */
  headroom: number | null;
}

// cgroup v1 writes "no limit" as LONG_MAX rounded down to a page.
const UNLIMITED = 2 ** 62;

interface Mount {
  root: string;
  point: string;
  version: 1 | 2;
}

function readText(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

function readNumber(file: string): number | null {
  const text = readText(file)?.trim();
  if (text === undefined || text === 'max') return null;
  const n = Number(text);
  return Number.isFinite(n) && n < UNLIMITED ? n : null;
}

function findMount(version: 1 | 2): Mount | null {
  for (const m of mounts()) {
    if (version === 2 && m.fstype === 'cgroup2') return { root: m.root, point: m.point, version };
    if (version === 1 && m.fstype === 'cgroup' && m.superOptions.split(',').includes('memory')) return { root: m.root, point: m.point, version };
  }
  return null;
}

function locate(): { mount: Mount; dir: string } | null {
  const lines = (readText('/proc/self/cgroup') ?? '').split('\n');
  const v1 = lines.map((l) => l.split(':')).find((f) => f.length >= 3 && f[1]!.split(',').includes('memory'));
  const v2 = lines.map((l) => l.split(':')).find((f) => f.length >= 3 && f[0] === '0' && f[1] === '');
  const entry = v1 ?? v2;
  if (!entry) return null;
  const mount = findMount(v1 ? 1 : 2);
  if (!mount) return null;
  const cgPath = entry.slice(2).join(':');
  // Inside a cgroup namespace the mount root is the container's own cgroup.
  const relative = cgPath.startsWith(mount.root) ? cgPath.slice(mount.root.length) : cgPath;
  const dir = path.join(mount.point, relative);
  return { mount, dir: fs.existsSync(dir) ? dir : mount.point };
}

function inactiveFile(dir: string, version: 1 | 2): number {
  const key = version === 1 ? 'total_inactive_file' : 'inactive_file';
  const stat = readText(path.join(dir, 'memory.stat')) ?? '';
  const line = stat.split('\n').find((l) => l.startsWith(key + ' '));
  return line ? Number(line.split(' ')[1]) || 0 : 0;
}

/** Reads the memory cgroup; null where there is none (or it is not mounted). */
export function memoryCgroup(): MemoryCgroup | null {
  const found = locate();
  if (!found) return null;
  const { mount, dir } = found;
  const limitFile = mount.version === 1 ? 'memory.limit_in_bytes' : 'memory.max';
  const usageFile = mount.version === 1 ? 'memory.usage_in_bytes' : 'memory.current';

  let result: MemoryCgroup | null = null;
  // Every ancestor's limit applies too (v2 always, v1 with use_hierarchy, the default).
  for (let d = dir; ; d = path.dirname(d)) {
    const limit = readNumber(path.join(d, limitFile));
    // memory.stat is costly to read high in the tree (the kernel sums it); only the
    // own cgroup and limited ones need it.
    if (limit !== null || d === dir) {
      const usage = readNumber(path.join(d, usageFile));
      if (usage !== null) {
        const workingSet = Math.max(0, usage - inactiveFile(d, mount.version));
        const headroom = limit === null ? null : Math.max(0, limit - workingSet);
        const tighter = result === null || (headroom !== null && (result.headroom === null || headroom < result.headroom));
        if (tighter) result = { version: mount.version, dir, limitDir: d, limit, usage, workingSet, headroom };
      }
    }
    if (d === mount.point || d === path.dirname(d)) break;
  }
  return result;
}

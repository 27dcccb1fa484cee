// The System V segments of this IPC namespace, as the kernel lists them in
// /proc/sysvipc/shm (what `ipcs -m` reads). Columns are found by their header names,
// so a kernel that adds or moves a column does not shift the others.
import * as fs from 'node:fs';

import { native, type SysvStat as NativeStat } from '../addon/native';

const { SHM_DEST, SHM_LOCKED } = native.sysv.constants;

/** One segment as shmctl(IPC_STAT) reports it. */
export interface SysVSegmentStat {
  /** The segment's key; 0 for a private segment and for one marked for removal. */
  key: number;
  id: number;
  size: number;
  /** Processes attached now (shm_nattch); each attach counts once. */
  attachCount: number;
  /** Permission bits (0o777). */
  mode: number;
  /** Marked for removal (IPC_RMID): destroyed after the last detach, and no longer found by key. */
  removed: boolean;
  /** Locked in memory (SHM_LOCK). */
  locked: boolean;
  uid: number;
  gid: number;
  /** Creator's user and group. */
  cuid: number;
  cgid: number;
  creatorPid: number;
  /** The last process to attach or detach. */
  lastPid: number;
  /** Last attach, last detach (null for never) and last change. */
  atime: Date | null;
  dtime: Date | null;
  ctime: Date;
}

/** A segment as list() shows it: the stat fields plus its memory use. */
export interface SysVSegmentInfo extends SysVSegmentStat {
  /** Bytes resident in memory. */
  rss: number;
  /** Bytes swapped out. */
  swap: number;
}

function time(seconds: number): Date | null {
  return seconds === 0 ? null : new Date(seconds * 1000);
}

/** Turns raw IPC_STAT fields into the public shape. */
export function fromNative(id: number, s: NativeStat): SysVSegmentStat {
  return {
    key: s.key,
    id,
    size: s.size,
    attachCount: s.attachCount,
    mode: s.mode & 0o777,
    removed: (s.mode & SHM_DEST) !== 0,
    locked: (s.mode & SHM_LOCKED) !== 0,
    uid: s.uid,
    gid: s.gid,
    cuid: s.cuid,
    cgid: s.cgid,
    creatorPid: s.creatorPid,
    lastPid: s.lastPid,
    atime: time(s.atime),
    dtime: time(s.dtime),
    ctime: time(s.ctime) ?? new Date(0),
  };
}

const COLUMNS = ['key', 'shmid', 'perms', 'size', 'cpid', 'lpid', 'nattch', 'uid', 'gid', 'cuid', 'cgid', 'atime', 'dtime', 'ctime'] as const;

/** Parses the text of /proc/sysvipc/shm; lines that do not fit the header are skipped. */
export function parseSysvipcShm(text: string): SysVSegmentInfo[] {
  const [header, ...lines] = text.split('\n');
  const names = (header ?? '').trim().split(/\s+/);
  const at = (name: string) => names.indexOf(name);
  if (COLUMNS.some((c) => at(c) < 0)) return [];
  const segments: SysVSegmentInfo[] = [];
  for (const line of lines) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < names.length) continue;
    const num = (name: string) => Number(fields[at(name)]);
    const optional = (name: string) => (at(name) < 0 ? 0 : num(name));
    const perms = parseInt(fields[at('perms')]!, 8);
    const raw: NativeStat = {
      key: num('key'),
      mode: perms,
      uid: num('uid'),
      gid: num('gid'),
      cuid: num('cuid'),
      cgid: num('cgid'),
      size: num('size'),
      attachCount: num('nattch'),
      creatorPid: num('cpid'),
      lastPid: num('lpid'),
      atime: num('atime'),
      dtime: num('dtime'),
      ctime: num('ctime'),
    };
    const id = num('shmid');
    if (!Number.isInteger(id) || Object.values(raw).some((v) => !Number.isFinite(v))) continue;
    segments.push({ ...fromNative(id, raw), rss: optional('rss'), swap: optional('swap') });
  }
  return segments;
}

/** Every segment visible in this process's IPC namespace. */
export function listSegments(): SysVSegmentInfo[] {
  return parseSysvipcShm(fs.readFileSync('/proc/sysvipc/shm', 'utf8'));
}

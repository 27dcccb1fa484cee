// User names for uids, from this container's /etc/passwd (a number where it has none).
import * as fs from 'node:fs';

let names: Map<number, string> | null = null;

export function userName(uid: number): string {
  if (names === null) {
    names = new Map();
    try {
      for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
        const [name, , id] = line.split(':');
        if (name && id !== undefined && !names.has(Number(id))) names.set(Number(id), name);
      }
    } catch {
      // no passwd file: numbers it is
    }
  }
  return names.get(uid) ?? String(uid);
}

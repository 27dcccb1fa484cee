// Reads the queues of an mqueue filesystem mount. Also run as a script by
// mq_list.ts inside a private mount namespace: `node mq_view.js DIR` prints JSON.
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface MessageQueue {
  /** '/name', as mq_open takes it. */
  name: string;
  uid: number;
  gid: number;
  mode: number;
  /** Bytes of messages waiting (the QSIZE the kernel reports); null when this user may not read it. */
  queuedBytes: number | null;
  /** The process registered with mq_notify, or 0; null when this user may not read it. */
  notifyPid: number | null;
}

export function readQueues(dir: string): MessageQueue[] {
  const out: MessageQueue[] = [];
  for (const entry of fs.readdirSync(dir).sort()) {
    const file = path.join(dir, entry);
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch {
      continue; // unlinked while listing
    }
    // "QSIZE:129 NOTIFY:0 SIGNO:0 NOTIFY_PID:0"; another user's 0600 queue is still
    // listed, without what only its readers may see.
    let status: string | null = null;
    try {
      status = fs.readFileSync(file, 'utf8');
    } catch {
      // EACCES, or unlinked since the stat
    }
    const field = (key: string) => (status === null ? null : Number(new RegExp(`${key}:(\\d+)`).exec(status)?.[1] ?? 0));
    out.push({ name: '/' + entry, uid: st.uid, gid: st.gid, mode: st.mode & 0o777, queuedBytes: field('QSIZE'), notifyPid: field('NOTIFY_PID') });
  }
  return out;
}

if (require.main === module) process.stdout.write(JSON.stringify(readQueues(process.argv[2]!)));

// The POSIX message queues of this IPC namespace. The kernel lists them only through an
// mqueue filesystem, and /dev/mqueue (where runtimes mount one) shows the namespace of
// whoever mounted it, not necessarily ours. So, where we may, mount a fresh view in a
// private mount namespace (util-linux unshare; nothing is ever mounted on the host), and
// otherwise read /dev/mqueue.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { readQueues, type MessageQueue } from './mq_view';

export { type MessageQueue };

export interface MessageQueueList {
  /** 'private-mount': a fresh view of this IPC namespace; '/dev/mqueue': that mount's; null: none. */
  source: 'private-mount' | '/dev/mqueue' | null;
  queues: MessageQueue[];
  /** Why there is no listing, or null. */
  error: string | null;
}

const MQUEUE_MAGIC = 0x19800202;

function privateView(): MessageQueue[] {
  const mountPoint = fs.mkdtempSync(path.join(os.tmpdir(), 'podshm-mqueue-'));
  try {
    const r = spawnSync(
      'unshare',
      ['--mount', '--propagation', 'private', '--', 'sh', '-c', 'mount -t mqueue podshm-ls "$1" && exec "$2" "$3" "$1"', 'sh', mountPoint, process.execPath, path.join(__dirname, 'mq_view.js')],
      { encoding: 'utf8', timeout: 10_000 },
    );
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error((r.stderr || `unshare exited with ${r.status}`).trim().split('\n')[0]);
    return JSON.parse(r.stdout) as MessageQueue[];
  } finally {
    fs.rmdirSync(mountPoint);
  }
}

export function listMessageQueues(): MessageQueueList {
  let privateError: string;
  try {
    return { source: 'private-mount', queues: privateView(), error: null };
  } catch (err) {
    privateError = (err as Error).message;
  }
  try {
    if (fs.statfsSync('/dev/mqueue').type === MQUEUE_MAGIC) return { source: '/dev/mqueue', queues: readQueues('/dev/mqueue'), error: null };
  } catch {
    // not mounted
  }
  return { source: null, queues: [], error: `no mqueue view: /dev/mqueue is not mounted and a private mount failed (${privateError})` };
}

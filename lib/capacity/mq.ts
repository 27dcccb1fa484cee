// The kernel's limits on POSIX message queues, checked before mq_open so that a
// refusal comes with the numbers and the fix instead of a bare EINVAL or EMFILE.
// All of it mirrors ipc/mqueue.c (mq_attr_ok, mqueue_get_inode, mqueue_create_attr).
import * as fs from 'node:fs';

import { MqueueLimitError, SystemError } from '../core/errors';
import { integer } from '../core/validate';
import { formatBytes, probeMqueue, type MqueueLimits } from './limits';

/** Above msg_max / msgsize_max only with CAP_SYS_RESOURCE, and never above these. */
export const HARD_MSGMAX = 65536;
export const HARD_MSGSIZEMAX = 16 * 1024 * 1024;
/** Priorities are 0 .. MQ_PRIO_MAX - 1 (sysconf(_SC_MQ_PRIO_MAX) on Linux). */
export const MQ_PRIO_MAX = 32768;
/** fs.mqueue.queues_max has no hard maximum of its own: any int. */
const INT_MAX = 2 ** 31 - 1;

// struct msg_msg and struct posix_msg_tree_node are six machine words each.
const WORD = process.arch.endsWith('64') ? 8 : 4;
const MSG_MSG = 6 * WORD;
const TREE_NODE = 6 * WORD;

/**
 * Bytes one queue charges to its creator's RLIMIT_MSGQUEUE, exactly as
 * mqueue_get_inode() counts them: every message slot in full plus its bookkeeping.
 */
export function queueBytes(maxMessages: number, messageSize: number): number {
  integer('maxMessages', maxMessages, 1);
  integer('messageSize', messageSize, 1);
  return maxMessages * messageSize + maxMessages * MSG_MSG + Math.min(maxMessages, MQ_PRIO_MAX) * TREE_NODE;
}

const CAP_SYS_RESOURCE = 24;

/**
 * Whether the kernel's capable(CAP_SYS_RESOURCE) holds: the capability in the initial
 * user namespace. Such a process may pass msg_max, msgsize_max and queues_max.
 */
export function hasSysResource(): boolean {
  try {
    const status = fs.readFileSync('/proc/self/status', 'utf8');
    const eff = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
    if (eff === undefined || ((BigInt('0x' + eff) >> BigInt(CAP_SYS_RESOURCE)) & 1n) === 0n) return false;
    // Capabilities held inside a child user namespace do not count for capable().
    return fs.readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/).join(' ') === '0 0 4294967295';
  } catch {
    return false;
  }
}

/** What mq_open uses when given no attributes: the namespace's defaults, capped by its maxima. */
export function defaultAttributes(limits: MqueueLimits = probeMqueue()): { maxMessages: number; messageSize: number } {
  const cap = (d: number | null, max: number | null, fallback: number) => Math.min(d ?? fallback, max ?? d ?? fallback);
  return {
    maxMessages: cap(limits.msgDefault, limits.msgMax, 10),
    messageSize: cap(limits.msgsizeDefault, limits.msgsizeMax, 8192),
  };
}

const K8S_SYSCTL =
  'These limits belong to the IPC namespace (every container of a Kubernetes pod shares the ' +
  "pod's); in Kubernetes fs.mqueue.* are \"unsafe\" sysctls: allow them on the kubelet " +
  "(--allowed-unsafe-sysctls='fs.mqueue.*') and set them in the pod's securityContext.sysctls";

/** What it takes for a queue of `maxMessages` x `messageSize` to be created. */
export interface QueueAdvice {
  /** fs.mqueue.* values to set, only those below what the queue needs; each within the kernel's range. */
  sysctls: { msg_max?: number; msgsize_max?: number };
  /** RLIMIT_MSGQUEUE, in bytes, to raise to; null when the queue fits the one in force. */
  rlimit: number | null;
  /** The kernel's hard maximum that the queue is above: then no setting holds it, and the rest is empty. */
  impossible: 'HARD_MSGMAX' | 'HARD_MSGSIZEMAX' | null;
}

/**
 * The settings under which the kernel would create this queue, judged as mq_attr_ok()
 * and mqueue_get_inode() judge: a process with CAP_SYS_RESOURCE (`privileged`) passes
 * msg_max and msgsize_max but never HARD_MSGMAX or HARD_MSGSIZEMAX, which are also the
 * highest values those sysctls take.
 */
export function queueAdvice(maxMessages: number, messageSize: number, limits: MqueueLimits, privileged: boolean): QueueAdvice {
  if (maxMessages > HARD_MSGMAX) return { sysctls: {}, rlimit: null, impossible: 'HARD_MSGMAX' };
  if (messageSize > HARD_MSGSIZEMAX) return { sysctls: {}, rlimit: null, impossible: 'HARD_MSGSIZEMAX' };
  const sysctls: QueueAdvice['sysctls'] = {};
  if (!privileged && limits.msgMax !== null && maxMessages > limits.msgMax) sysctls.msg_max = maxMessages;
  if (!privileged && limits.msgsizeMax !== null && messageSize > limits.msgsizeMax) sysctls.msgsize_max = messageSize;
  const bytes = queueBytes(maxMessages, messageSize);
  const rlimit = limits.rlimitMsgqueue !== null && bytes > limits.rlimitMsgqueue ? bytes : null;
  return { sysctls, rlimit, impossible: null };
}

// The whole fix: every setting the queue needs, not only the first one it runs into.
function settingsFix(advice: QueueAdvice): string {
  const sysctls = Object.entries(advice.sysctls).map(([key, value]) => `sysctl -w fs.mqueue.${key}=${value}`);
  const parts: string[] = [];
  if (sysctls.length > 0) parts.push(`raise ${sysctls.length === 1 ? 'it' : 'them'} with ${sysctls.join(' and ')}. ${K8S_SYSCTL}`);
  if (advice.rlimit !== null) parts.push(`${parts.length > 0 ? 'The queue also needs RLIMIT_MSGQUEUE: ' : ''}${rlimitFix(advice.rlimit)}`);
  return parts.join('. ');
}

// Above a hard maximum: what to do instead, since no sysctl or capability reaches it.
function hardLimitFix(what: string, key: string, hard: number, now: number | null): string {
  const most = now === null || now >= hard ? `${hard}` : `${now} here (fs.mqueue.${key} can be raised to ${hard}, no further)`;
  return (
    `no setting can hold this queue: ${hard} ${what} is the kernel's hard maximum, which neither fs.mqueue nor CAP_SYS_RESOURCE passes. ` +
    `Fix: ask for at most ${most}, spread the messages over several queues, or use a Channel (a ring in shared memory, of any size the memory allows)`
  );
}

function rlimitFix(bytes: number): string {
  return (
    `raise the limit to at least ${bytes} bytes (ulimit -q, prlimit --msgqueue, systemd LimitMSGQUEUE=, ` +
    `docker run --ulimit msgqueue=...; Kubernetes has no setting for it: it comes from the container runtime's defaults)`
  );
}

/** Throws MqueueLimitError if the kernel would refuse to create this queue. */
export function checkQueueLimits(name: string, maxMessages: number, messageSize: number, limits: MqueueLimits = probeMqueue(), privileged = hasSysResource()): void {
  const advice = queueAdvice(maxMessages, messageSize, limits, privileged);
  const msgMax = privileged ? HARD_MSGMAX : limits.msgMax;
  const msgsizeMax = privileged ? HARD_MSGSIZEMAX : limits.msgsizeMax;
  const why = privileged ? 'the hard limit even with CAP_SYS_RESOURCE' : "this IPC namespace's fs.mqueue";

  if (advice.impossible === 'HARD_MSGMAX') {
    throw new MqueueLimitError('EINVAL', name, `maxMessages ${maxMessages} is above ${HARD_MSGMAX}: ${hardLimitFix('messages per queue', 'msg_max', HARD_MSGMAX, msgMax)}`, 'msg_max', maxMessages, msgMax);
  }
  if (advice.impossible === 'HARD_MSGSIZEMAX') {
    throw new MqueueLimitError(
      'EINVAL',
      name,
      `messageSize ${messageSize} is above ${HARD_MSGSIZEMAX} bytes: ${hardLimitFix('bytes per message', 'msgsize_max', HARD_MSGSIZEMAX, msgsizeMax)}`,
      'msgsize_max',
      messageSize,
      msgsizeMax,
    );
  }
  if (msgMax !== null && maxMessages > msgMax) {
    throw new MqueueLimitError('EINVAL', name, `maxMessages ${maxMessages} is above ${why}.msg_max of ${msgMax}. Fix: ask for at most ${msgMax}, or ${settingsFix(advice)}`, 'msg_max', maxMessages, msgMax);
  }
  if (msgsizeMax !== null && messageSize > msgsizeMax) {
    throw new MqueueLimitError(
      'EINVAL',
      name,
      `messageSize ${messageSize} is above ${why}.msgsize_max of ${msgsizeMax} bytes. Fix: ask for at most ${msgsizeMax}, or ${settingsFix(advice)}`,
      'msgsize_max',
      messageSize,
      msgsizeMax,
    );
  }
  const rlimit = limits.rlimitMsgqueue;
  if (advice.rlimit !== null && rlimit !== null) {
    const bytes = advice.rlimit;
    const fits = Math.floor(rlimit / (messageSize + MSG_MSG + TREE_NODE));
    const less = fits > 0 ? `ask for fewer or smaller messages (at most ${fits} of ${messageSize} bytes)` : `ask for smaller messages (not even one of ${messageSize} bytes fits)`;
    throw new MqueueLimitError(
      'EMFILE',
      name,
      `the queue would charge ${bytes} bytes (${formatBytes(bytes)}: ${maxMessages} × (${messageSize} + ${MSG_MSG + TREE_NODE} bytes of kernel bookkeeping)) ` +
        `to this user's RLIMIT_MSGQUEUE of ${rlimit} bytes (${formatBytes(rlimit)}), which all of the user's queues share. ` +
        `Fix: ${less}, or ${settingsFix(advice)}`,
      'RLIMIT_MSGQUEUE',
      bytes,
      rlimit,
    );
  }
}

/**
 * The kernel refused a queue that checkQueueLimits() let through: the limit is shared
 * with other queues (queues_max per namespace, RLIMIT_MSGQUEUE per user), or changed
 * since. Returns the error to throw.
 */
export function explainCreateError(err: unknown, name: string, maxMessages: number, messageSize: number): unknown {
  if (!(err instanceof SystemError)) return err;
  const limits = probeMqueue();
  if (err.code === 'ENOSPC') {
    const max = limits.queuesMax;
    return new MqueueLimitError(
      'ENOSPC',
      name,
      `this IPC namespace already holds fs.mqueue.queues_max = ${max ?? '?'} queues. Fix: unlink queues that are no longer used` +
        (max !== null && max >= INT_MAX ? '' : `, or raise it with sysctl -w fs.mqueue.queues_max=${Math.min(INT_MAX, (max ?? 256) * 2)}. ${K8S_SYSCTL}`),
      'queues_max',
      (max ?? 0) + 1,
      max,
    );
  }
  if (err.code === 'EMFILE') {
    const bytes = queueBytes(maxMessages, messageSize);
    const rlimit = limits.rlimitMsgqueue;
    return new MqueueLimitError(
      'EMFILE',
      name,
      `this queue needs ${bytes} bytes of RLIMIT_MSGQUEUE (${rlimit ?? 'unlimited'} bytes), and the user's other queues ` +
        `(in every IPC namespace of this user namespace, until they are unlinked and closed) hold the rest; or this process ` +
        `has too many open files. Fix: unlink unused queues, ask for less, or ${rlimitFix(bytes)}`,
      'RLIMIT_MSGQUEUE',
      bytes,
      rlimit,
    );
  }
  return err;
}

// `podshm demo`: two processes talk through a podshm Channel, then through a Unix
// socket, the same exchanges both ways: a ping-pong of 64-byte messages (latency) and a
// stream of 64-byte messages checked by sequence number (throughput), with live figures
// every second and a side-by-side summary at the end.
import { fork, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

import { Channel, type Receiver, type Sender } from '../channel/channel';
import { UsageError } from '../core/errors';
import { parse as parseArgs } from './args';
import { EXIT, helpText } from './help';

export const summary = 'two processes talk through a Channel and a Unix socket: live figures';

const SIZE = 64;
// First byte of every message.
const PING = 1;
const DATA = 2;
const END = 3;
const QUIT = 4;
// The peer's first message: it has both channels open, so their names can go.
const READY = 5;
// How long the peer may take to start (a node process, on a busy machine).
const START_MS = 20_000;

const USAGE = 'podshm demo [--seconds N]';
const MAX_SECONDS = 60;
export const help = helpText(
  USAGE,
  'Two processes talk through a podshm Channel, then through a Unix socket: a ping-pong of 64-byte messages ' +
    '(latency) and a stream of 64-byte messages checked by sequence number (throughput), with live figures ' +
    'every second and a side-by-side summary at the end. Leaves nothing behind.',
  [['--seconds N', `the length of each of the four phases, more than 0 and at most ${MAX_SECONDS} (default 2)`]],
  '0 every message arrived in order, 1 some did not, 2 usage error, 3 the demo could not run',
);

interface Args {
  // The peer process: the channels' base name and the socket's path.
  peer: string | null;
  socket: string;
  seconds: number;
}

function parse(args: string[]): Args {
  // --peer and --socket are how the demo starts its own peer process: not in the help.
  const { values } = parseArgs('demo', USAGE, args, { seconds: { type: 'string' }, peer: { type: 'string' }, socket: { type: 'string' } }, 'none');
  const seconds = values.seconds === undefined ? 2 : Number(values.seconds);
  // A phase of no time measures nothing: the figures would be 0/0.
  if (values.seconds === '' || !(seconds > 0 && seconds <= MAX_SECONDS)) {
    throw new UsageError(`demo: --seconds must be a number more than 0 and at most ${MAX_SECONDS}, not '${values.seconds}' (usage: ${USAGE})`);
  }
  return { peer: values.peer ?? null, socket: values.socket ?? '', seconds };
}

const seqOf = (b: Uint8Array, at: number): number => (b[at + 4] | (b[at + 5] << 8) | (b[at + 6] << 16) | (b[at + 7] << 24)) >>> 0;

function message(kind: number, seq: number, into = new Uint8Array(SIZE)): Uint8Array {
  into[0] = kind;
  into[4] = seq;
  into[5] = seq >>> 8;
  into[6] = seq >>> 16;
  into[7] = seq >>> 24;
  return into;
}

/** Checks a stream of DATA messages and answers END with (count, bad). */
class Tally {
  count = 0;
  bad = 0;
  see(bytes: Uint8Array, at: number): void {
    if (seqOf(bytes, at) !== this.count) this.bad++;
    this.count++;
  }
  answer(): Uint8Array {
    const reply = message(END, this.count);
    reply[8] = this.bad > 0 ? 1 : 0;
    this.count = this.bad = 0;
    return reply;
  }
}

// ---- the peer process ----------------------------------------------------------------

function channelPeer(base: string): void {
  const inbox = Channel.open(`${base}-a`);
  const outbox = Channel.open(`${base}-b`);
  const rx = inbox.receiver();
  const tx = outbox.sender();
  tx.sendSync(message(READY, 0));
  const tally = new Tally();
  let running = true;
  const handle = (bytes: Uint8Array, at: number, length: number): void => {
    const kind = bytes[at];
    if (kind === DATA) tally.see(bytes, at);
    else if (kind === PING) tx.sendSync(bytes.subarray(at, at + length));
    else if (kind === END) tx.sendSync(tally.answer());
    else running = false;
  };
  while (running) {
    if (rx.drain(handle) === 0) {
      const m = rx.receiveViewSync();
      handle(m, 0, m.length);
    }
  }
  inbox.close();
  outbox.close();
}

function socketPeer(file: string): Promise<void> {
  return new Promise((resolve) => {
    const sock = net.connect(file);
    const tally = new Tally();
    let pending = Buffer.alloc(0);
    sock.on('data', (chunk) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      let at = 0;
      for (; at + SIZE <= pending.length; at += SIZE) {
        const kind = pending[at];
        if (kind === DATA) tally.see(pending, at);
        else if (kind === PING) sock.write(pending.subarray(at, at + SIZE));
        else if (kind === END) sock.write(tally.answer());
        else sock.end();
      }
      pending = pending.subarray(at);
    });
    sock.on('close', () => resolve());
  });
}

// ---- the driving process -------------------------------------------------------------

interface Result {
  roundTripNs: number;
  messagesPerSecond: number;
  checked: string;
}

/** One live line: the rate over the last interval, at `now` seconds into the phase. */
function live(label: string, start: bigint, since: bigint, n: number, now: bigint): string {
  const at = Number(now - start) / 1e9;
  const rate = n / (Number(now - since) / 1e9);
  return `  ${at.toFixed(0).padStart(3)} s  ${label.padEnd(12)} ${rate.toFixed(0).padStart(10)}/s`;
}

function channelSide(tx: Sender, rx: Receiver, seconds: number): Result {
  const out = process.stdout;
  const budget = BigInt(Math.round(seconds * 1e9));
  const ping = message(PING, 0);
  // Ping-pong: one message each way, as fast as they come back.
  let t0 = process.hrtime.bigint();
  let next = t0 + 1_000_000_000n;
  let trips = 0;
  let now = t0;
  let lastTrips = 0;
  let lastT = t0;
  while (now - t0 < budget) {
    for (let i = 0; i < 256; i++) {
      tx.sendSync(ping);
      rx.receiveViewSync();
    }
    trips += 256;
    now = process.hrtime.bigint();
    if (now >= next) {
      out.write(`${live('round trips', t0, lastT, trips - lastTrips, now)}   latency ${(Number(now - lastT) / (trips - lastTrips) / 1000).toFixed(2)} µs\n`);
      lastT = now;
      lastTrips = trips;
      next = now + 1_000_000_000n;
    }
  }
  const roundTripNs = Number(now - t0) / trips;
  // Stream: 64-byte messages one way, each checked by the peer.
  const data = new Uint8Array(SIZE);
  t0 = lastT = process.hrtime.bigint();
  next = t0 + 1_000_000_000n;
  let sent = 0;
  let lastSent = 0;
  now = t0;
  while (now - t0 < budget) {
    for (let i = 0; i < 4096; i++) tx.sendSync(message(DATA, sent++, data));
    now = process.hrtime.bigint();
    if (now >= next) {
      out.write(`${live('messages', t0, lastT, sent - lastSent, now)}\n`);
      lastT = now;
      lastSent = sent;
      next = now + 1_000_000_000n;
    }
  }
  tx.sendSync(message(END, 0));
  const reply = rx.receiveSync();
  const messagesPerSecond = sent / (Number(process.hrtime.bigint() - t0) / 1e9);
  return { roundTripNs, messagesPerSecond, checked: verdict(sent, seqOf(reply, 0), reply[8]) };
}

function verdict(sent: number, got: number, bad: number): string {
  return got === sent && bad === 0 ? `all ${sent} in order` : `LOST OR REORDERED: sent ${sent}, peer saw ${got}${bad ? ' with gaps' : ''}`;
}

async function socketSide(sock: net.Socket, seconds: number): Promise<Result> {
  const out = process.stdout;
  const budget = BigInt(Math.round(seconds * 1e9));
  let waiting: ((b: Buffer) => void) | null = null;
  let pending = Buffer.alloc(0);
  sock.on('data', (chunk) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= SIZE && waiting) {
      const w = waiting;
      waiting = null;
      const frame = pending.subarray(0, SIZE);
      pending = pending.subarray(SIZE);
      w(frame);
    }
  });
  // A peer that dies fails the wait, not hangs it.
  let failed: ((err: Error) => void) | null = null;
  sock.on('error', (err) => failed?.(err));
  sock.on('close', () => failed?.(new Error('the peer process closed the socket')));
  const reply = (): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      waiting = resolve;
      failed = reject;
    });
  const drained = (): Promise<void> =>
    new Promise((resolve, reject) => {
      failed = reject;
      sock.once('drain', resolve);
    });
  const ping = Buffer.from(message(PING, 0));
  let t0 = process.hrtime.bigint();
  let lastT = t0;
  let trips = 0;
  let lastTrips = 0;
  let now = t0;
  while (now - t0 < budget) {
    const r = reply();
    sock.write(ping);
    await r;
    trips++;
    now = process.hrtime.bigint();
    if (now - lastT >= 1_000_000_000n) {
      out.write(`${live('round trips', t0, lastT, trips - lastTrips, now)}   latency ${(Number(now - lastT) / (trips - lastTrips) / 1000).toFixed(2)} µs\n`);
      lastT = now;
      lastTrips = trips;
    }
  }
  const roundTripNs = Number(now - t0) / trips;
  t0 = lastT = process.hrtime.bigint();
  let sent = 0;
  let lastSent = 0;
  now = t0;
  while (now - t0 < budget) {
    for (let i = 0; i < 256; i++) {
      // One write per message, as an application sends messages; wait when the socket is full.
      if (!sock.write(Buffer.from(message(DATA, sent++)))) await drained();
    }
    now = process.hrtime.bigint();
    if (now - lastT >= 1_000_000_000n) {
      out.write(`${live('messages', t0, lastT, sent - lastSent, now)}\n`);
      lastT = now;
      lastSent = sent;
    }
  }
  const r = reply();
  sock.write(Buffer.from(message(END, 0)));
  const answer = await r;
  const messagesPerSecond = sent / (Number(process.hrtime.bigint() - t0) / 1e9);
  sock.end(Buffer.from(message(QUIT, 0)));
  return { roundTripNs, messagesPerSecond, checked: verdict(sent, seqOf(answer, 0), answer[8]) };
}

async function drive(seconds: number): Promise<number> {
  const base = `/podshm-demo-${process.pid}`;
  const file = path.join(os.tmpdir(), `podshm-demo-${process.pid}.sock`);
  // Whatever was made so far goes, however this ends: nothing may outlive the demo.
  const made: Channel[] = [];
  let server: net.Server | null = null;
  let child: ChildProcess | null = null;
  // The names go as soon as the peer holds what they name: then nothing of the demo can
  // outlive it, however it ends.
  let channelsNamed = true;
  const unnameChannels = (): void => {
    if (!channelsNamed) return;
    channelsNamed = false;
    for (const c of made) c.unlink();
  };
  const unnameSocket = (): void => fs.rmSync(file, { force: true });
  let cleaned = false;
  const cleanup = (): void => {
    if (cleaned) return;
    cleaned = true;
    child?.kill();
    server?.close();
    for (const c of made) c.close();
    unnameChannels();
    unnameSocket();
  };
  // Interrupted: the names in /dev/shm would outlive us (unlinking is always explicit).
  const interrupted = (): void => {
    cleanup();
    process.exit(130);
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  // Output piped into something that quits (| head): stop, and clean up.
  const outputGone = (): void => {
    cleanup();
    process.exit(1);
  };
  process.stdout.on('error', outputGone);
  try {
    const a = Channel.create(`${base}-a`, { capacity: 1 << 20 });
    made.push(a);
    const b = Channel.create(`${base}-b`, { capacity: 1 << 20 });
    made.push(b);
    const listening = net.createServer();
    server = listening;
    await new Promise<void>((resolve, reject) => {
      listening.once('error', reject);
      listening.listen(file, resolve);
    });
    const accepted = new Promise<net.Socket>((resolve) => listening.once('connection', resolve));
    const peer = fork(__filename.replace(/demo\.js$/, 'main.js'), ['demo', '--peer', base, '--socket', file]);
    child = peer;
    const exited = new Promise<number | null>((resolve) => peer.once('exit', resolve));
    const tx = a.sender();
    const rx = b.receiver();
    // The peer has both channels open once it says so: their names are not needed any more.
    const first = rx.receive({ timeout: START_MS });
    first.catch(() => {}); // settled by the race below or by cleanup's close()
    const died = exited.then((code) => Promise.reject(new Error(`the peer process exited (${code}) before it started`)));
    const ready = await Promise.race([first, died]);
    if (ready[0] !== READY) throw new Error('the peer process sent something else first');
    unnameChannels();
    process.stdout.write(
      `podshm demo: pid ${process.pid} <-> pid ${peer.pid}, ${SIZE}-byte messages, ${seconds} s per phase\n\n` +
        `podshm Channel (${a.name}, ${b.name}: 1 MiB rings in /dev/shm, wait 'adaptive')\n`,
    );
    const ch = channelSide(tx, rx, seconds);
    tx.sendSync(message(QUIT, 0));
    process.stdout.write(`\nUnix socket (${file})\n`);
    const sock = await accepted;
    unnameSocket();
    const so = await socketSide(sock, seconds);
    const code = await exited;

    const rows: Array<[string, string, string]> = [
      ['', 'podshm Channel', 'Unix socket'],
      ['round trip', `${(ch.roundTripNs / 1000).toFixed(2)} µs`, `${(so.roundTripNs / 1000).toFixed(2)} µs`],
      ['one way', `${(ch.messagesPerSecond / 1e6).toFixed(2)} M msg/s`, `${(so.messagesPerSecond / 1e6).toFixed(2)} M msg/s`],
      ['checked', ch.checked, so.checked],
    ];
    process.stdout.write(`\n${rows.map((r) => `  ${r[0].padEnd(11)} ${r[1].padEnd(28)} ${r[2]}`).join('\n')}\n`);
    const times = (x: number, more: string, less: string): string => (x >= 1 ? `${x.toFixed(1)}x ${more}` : `${(1 / x).toFixed(1)}x ${less}`);
    process.stdout.write(
      `\n  through the channel: round trip ${times(so.roundTripNs / ch.roundTripNs, 'shorter', 'longer')}, ` +
        `stream ${times(ch.messagesPerSecond / so.messagesPerSecond, 'faster', 'slower')} ` +
        `(this run; figures on a busy machine are not the channel's: see bench/)\n`,
    );
    const ok = code === 0 && ch.checked.startsWith('all') && so.checked.startsWith('all');
    return ok ? EXIT.OK : EXIT.PROBLEMS;
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    process.stdout.off('error', outputGone);
    cleanup();
  }
}

export async function run(argv: string[]): Promise<number> {
  const args = parse(argv);
  if (args.peer !== null) {
    channelPeer(args.peer);
    await socketPeer(args.socket);
    return EXIT.OK;
  }
  return drive(args.seconds);
}

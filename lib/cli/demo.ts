// `podshm demo`: two processes share one segment; the writer fills frames, the reader
// checks every word of every frame, and both report live throughput.
import { fork } from 'node:child_process';

import { SharedMemory } from '../posix_shm';
import { UsageError } from '../errors';

export const summary = 'two processes exchange checked frames through shared memory, with live figures';

const SLOTS = 8;
const FRAME = 1 << 20;
const HEADER = 64;
// Int32 words in the header: frames written, frames read, reader ready, writer done.
const WRITTEN = 0;
const READ = 1;
const READY = 2;

interface Args {
  role: 'writer' | 'reader';
  name: string;
  seconds: number;
}

function parse(args: string[]): Args {
  const out: Args = { role: 'writer', name: `/podshm-demo-${process.pid}`, seconds: 5 };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--reader') out.role = 'reader';
    else if (a === '--name') out.name = args[++i] ?? out.name;
    else if (a === '--seconds') out.seconds = Number(args[++i]);
    else throw new UsageError(`demo: unknown option ${a}`);
  }
  if (!(out.seconds > 0)) throw new UsageError('demo: --seconds must be a positive number');
  return out;
}

function frameView(shm: SharedMemory, seq: number): Uint32Array {
  return new Uint32Array(shm.buffer, HEADER + (seq % SLOTS) * FRAME, FRAME / 4);
}

// The pattern of frame n: every word is n * an odd constant, so a stale or torn
// frame shows up in the check.
function pattern(seq: number): number {
  return Math.imul(seq + 1, 0x9e3779b1) >>> 0;
}

function reader(name: string): number {
  const shm = SharedMemory.open(name);
  const head = new Int32Array(shm.buffer, 0, HEADER / 4);
  Atomics.store(head, READY, 1);
  let seq = 0;
  let bad = 0;
  for (;;) {
    const written = Atomics.load(head, WRITTEN);
    if (written < 0) break; // writer done: -1 - total
    if (seq === written) continue;
    const words = frameView(shm, seq);
    const expect = pattern(seq);
    for (let i = 0; i < words.length; i++) {
      if (words[i] !== expect) {
        bad++;
        break;
      }
    }
    seq++;
    Atomics.store(head, READ, seq);
  }
  shm.close();
  process.send?.({ frames: seq, bad });
  return 0;
}

async function writer(args: Args): Promise<number> {
  const shm = SharedMemory.create(args.name, HEADER + SLOTS * FRAME);
  try {
    const head = new Int32Array(shm.buffer, 0, HEADER / 4);
    const child = fork(__filename.replace(/demo\.js$/, 'main.js'), ['demo', '--reader', '--name', args.name]);
    const result = new Promise<{ frames: number; bad: number }>((resolve, reject) => {
      child.once('message', (m) => resolve(m as { frames: number; bad: number }));
      child.once('exit', (code) => reject(new Error(`reader exited with ${code}`)));
    });
    while (Atomics.load(head, READY) === 0) await new Promise((r) => setTimeout(r, 5));

    process.stdout.write(
      `podshm demo: writer pid ${process.pid} -> reader pid ${child.pid} through ${shm.path}\n` +
        `${SLOTS} slots of ${FRAME >> 10} KiB; the reader checks every word of every frame\n\n`,
    );
    const start = process.hrtime.bigint();
    const end = start + BigInt(Math.round(args.seconds * 1e9));
    let seq = 0;
    let lastReport = start;
    let lastSeq = 0;
    for (let now = start; now < end; now = process.hrtime.bigint()) {
      if (seq - Atomics.load(head, READ) >= SLOTS) continue; // ring full: the reader is behind
      frameView(shm, seq).fill(pattern(seq));
      seq++;
      Atomics.store(head, WRITTEN, seq);
      if (now - lastReport >= 1_000_000_000n) {
        const secs = Number(now - lastReport) / 1e9;
        const fps = (seq - lastSeq) / secs;
        process.stdout.write(`  ${(Number(now - start) / 1e9).toFixed(0)} s: ${fps.toFixed(0)} frames/s, ${((fps * FRAME) / 2 ** 30).toFixed(2)} GiB/s\n`);
        lastReport = now;
        lastSeq = seq;
      }
    }
    while (Atomics.load(head, READ) < seq) await new Promise((r) => setImmediate(r));
    const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
    Atomics.store(head, WRITTEN, -1 - seq);
    const { frames, bad } = await result;
    process.stdout.write(
      `\nwrote ${seq} frames, reader checked ${frames} (${bad} bad) in ${elapsed.toFixed(2)} s: ` +
        `${(seq / elapsed).toFixed(0)} frames/s, ${((seq * FRAME) / elapsed / 2 ** 30).toFixed(2)} GiB/s\n`,
    );
    return frames === seq && bad === 0 ? 0 : 1;
  } finally {
    shm.close();
    shm.unlink();
  }
}

export async function run(argv: string[]): Promise<number> {
  const args = parse(argv);
  return args.role === 'reader' ? reader(args.name) : writer(args);
}

// Fuzzing of every shared header with fast-check, in a child process (a crash or a hang
// there fails this test instead of ending it). PODSHM_FUZZ_SEED repeats a run,
// PODSHM_HEADER_FUZZ_RUNS sets the cases per header (default 150).
import * as fs from 'node:fs';
import t from 'tap';
import { node } from '../helpers.mjs';

const seed = process.env.PODSHM_FUZZ_SEED === undefined ? (Date.now() ^ (Math.random() * 2 ** 31)) | 0 : Number(process.env.PODSHM_FUZZ_SEED);
const runs = Number(process.env.PODSHM_HEADER_FUZZ_RUNS ?? 150);

t.test('scribbled headers end in typed errors, never a crash or a hang', async (t) => {
  const dir = fs.mkdtempSync('/dev/shm/podshm-hfuzz-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  t.comment(`header fuzz: seed ${seed} (PODSHM_FUZZ_SEED=${seed} repeats it), ${runs} cases per header`);
  // A hang guard only: a case takes milliseconds.
  const r = await node('header-fuzz.mjs', [String(seed), String(runs), dir], { timeoutMs: 240_000, env: { NODE_OPTIONS: '' } });
  const lines = r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  for (const l of lines) t.comment(`header fuzz: ${JSON.stringify(l)}`);
  t.same({ code: r.code, signal: r.signal }, { code: 0, signal: null }, r.stderr || JSON.stringify(lines.at(-1)));
  t.same(lines.map((l) => l.kind), ['semaphore', 'mutex', 'channel', 'topic']);
  for (const l of lines) t.equal(l.cases, runs, `${l.kind}: ${l.cases} cases, ${l.ok} calls worked, ${l.refused} refused with a PodshmError`);
});

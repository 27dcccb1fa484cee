// The fuzz case of the channel's and the topic's corrupt tests: fixtures/ring-fuzz.mjs
// runs in a child, so that a crash or a hang fails the case instead of ending the run.
import { node } from './helpers.mjs';

/**
 * Fuzzes `rings` rings of `kind` ('channel' or 'topic') and checks that the child ended by
 * itself, went through every ring, met `error` (the ring's corrupt error's name) and still
 * saw operations work.
 */
export async function fuzzInChild(t, kind, rings, error) {
  // PODSHM_TEST_SEED replays a run: the fixture prints its seed on stderr and in its summary.
  const r = await node('ring-fuzz.mjs', [kind, String(rings)], { timeoutMs: 90_000 });
  t.equal(r.signal, null, `not killed (no crash, no hang); ${r.stderr.trim()}`);
  t.equal(r.code, 0, r.stderr);
  const outcomes = JSON.parse(r.stdout);
  t.comment(`seed ${outcomes.seed} (PODSHM_TEST_SEED=${outcomes.seed} replays this run)`);
  t.equal(outcomes.runs, rings, `${rings} ${kind}s corrupted`);
  t.ok(outcomes.corrupt > 0, `${error} seen ${outcomes.corrupt} times`);
  t.ok(outcomes.ok > 0, `${outcomes.ok} operations still worked`);
  t.comment(JSON.stringify(outcomes));
}

import t from 'tap';
import { fixture, run } from '../helpers.mjs';

// Its own file: the rounds are many and, on a loaded machine, slow, so they get the
// whole per-file budget (the deadline below is only a hang guard).
t.test('a fault racing close() in another thread does not switch the guard off', async (t) => {
  // A few rounds in a hundred lose the race (the handler runs after close() released the
  // range); a guard that gave up after a fixed number of such faults, or mistook a reused
  // address for the same fault twice, is switched off well before the last round.
  const r = await run(process.execPath, [fixture('guard-peer.cjs'), 'race', '3000'], { timeoutMs: 110_000 });
  t.equal(r.signal, null, 'not killed by a signal');
  t.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  t.equal(out.rounds, 3000, 'every round ran');
  t.equal(out.guarded, true, 'SIGBUS is still caught after every round');
  t.same({ seen: out.seen, lost: out.lost }, { seen: 0, lost: 3 }, 'and a later shrink is survived (pages 1 to 3 replaced)');
});

t.test('two threads faulting on the same shrunk range count every lost page', async (t) => {
  // Each thread replaces from its page to where the last replacement began; a thread
  // that faulted higher up and finished later once moved that mark back up, and a
  // few objects in a hundred then reported too few lost pages.
  const r = await run(process.execPath, [fixture('guard-peer.cjs'), 'together', '300'], { timeoutMs: 110_000 });
  t.equal(r.signal, null, 'not killed by a signal');
  t.equal(r.code, 0, r.stderr);
  t.same(JSON.parse(r.stdout), { pages: 64, counted: [64] }, 'all 64 pages of all 300 objects');
});

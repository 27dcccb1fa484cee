// The adaptive strategy's spin budget (lib/wait/spin.ts), as a state machine: it must
// shrink while the peer is away and grow back as soon as the peer answers again, even
// when every answer arrives only after the spin has given up.
import t from 'tap';
import { createRequire } from 'node:module';

const { SpinBudget, SPIN_NS } = createRequire(import.meta.url)('../../dist/cjs/wait/spin.js');

t.test('long waits shrink the budget to a floor, never to nothing', async (t) => {
  const b = new SpinBudget();
  t.equal(b.ns, SPIN_NS, 'starts at the full budget');
  b.slept(5);
  t.equal(b.ns, SPIN_NS / 2, 'a wait of 5 ms (the peer was off its core) halves it');
  for (let i = 0; i < 100; i++) b.slept(50);
  t.ok(b.ns > 0 && b.ns < SPIN_NS / 16, `a hundred long waits leave a small budget (${b.ns} ns)`);
});

t.test('a shrunk budget grows back when the peer answers after a sleep', async (t) => {
  const b = new SpinBudget();
  for (let i = 0; i < 100; i++) b.slept(50);
  const floor = b.ns;
  // The peer now answers within 60 us: each spin still gives up, and the side sleeps,
  // but the wait was short, so the budget grows until a spin covers the answer.
  b.slept(0.06);
  t.equal(b.ns, floor * 2, 'a wait of 60 us that ended in a sleep doubles it');
  for (let i = 0; i < 100; i++) b.slept(0.06);
  t.equal(b.ns, SPIN_NS, 'and it comes back to the full budget, no further');
});

t.test('a spin that sees the answer doubles the budget up to the full one', async (t) => {
  const b = new SpinBudget();
  for (let i = 0; i < 3; i++) b.slept(50);
  t.equal(b.ns, SPIN_NS / 8);
  b.hit();
  t.equal(b.ns, SPIN_NS / 4);
  for (let i = 0; i < 10; i++) b.hit();
  t.equal(b.ns, SPIN_NS);
});

t.test('before a blocking wait: 64 misses in a row shrink it however short the waits, and the count starts over every 1024', async (t) => {
  const b = new SpinBudget();
  for (let i = 0; i < 100; i++) b.slept(50);
  const floor = b.ns;
  for (let i = 0; i < 10; i++) b.missed(0.06);
  t.equal(b.ns, SPIN_NS, 'short waits after misses grow it, as slept() does');
  for (let i = 10; i < 100; i++) b.missed(0.06);
  t.equal(b.ns, floor, 'past 64 misses in a row the peer could not run meanwhile: down to the floor');
  b.hit();
  t.equal(b.ns, floor * 2, 'a spin that sees the answer grows it');
  for (let i = 0; i < 10; i++) b.missed(0.06);
  t.equal(b.ns, SPIN_NS, 'and starts the count over');
  for (let i = 10; i < 1024 + 10; i++) b.missed(0.06);
  t.equal(b.ns, SPIN_NS, 'after 1024 misses short waits grow it again');
  b.missed(Infinity);
  t.equal(b.ns, SPIN_NS / 2, 'a wait that ran out halves it');
});

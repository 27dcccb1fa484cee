// The channel's sleep protocol, checked on the real code: lib/channel/wait.ts's
// waitSync() (the consumer) and wake() (each producer, after it publishes) run under
// a small interpreter that turns every access to the shared words (Atomics calls, plain
// loads, the futex calls, the consumer's attempt at the ring) into one step of a model,
// and explores every interleaving of a consumer waiting for two messages and two
// producers publishing one each. A state in which nobody can move while messages are still
// unread is a lost wake-up (the real consumer would sleep out its 100 ms slice).
//
// How the real functions are stepped: an actor's call is re-run from its start for each
// step, its earlier operations answered from its own history; the first operation past
// the history ends the run (by throwing) and is the actor's next step. So the order of
// the steps is the code's own: a change to it in lib changes what is explored here.
// A copy of the consumer's loop with the flag raised before the word is read (the order
// the protocol replaced) shows that the search finds lost wake-ups where there are some.
import t from 'tap';
import { internal } from '../internal.mjs';

const channelWait = internal('channel/wait');
const { SpinBudget } = internal('wait/spin');
const { native } = internal('addon/native');

// One message per producer: the consumer's 16-attempt spin multiplies the states (K = 2
// gives 220 000 and takes 20 s here); one each already holds the case the protocol's
// order is for (a producer's late wake clearing a flag raised for the other's message),
// and the control below finds it.
const K = 1;
const TOTAL = 2 * K;
// Int32 indexes of the consumer's sleeping flag and futex word, as a Sleeper names them.
const FLAG = 0;
const SEQ = 1;

class Step {
  constructor(op) {
    this.op = op;
  }
}

// The words the interpreted code sees: every numeric element access is a step.
const WORDS = new Proxy({}, {
  get: (_, key) => (typeof key === 'string' && /^\d+$/.test(key) ? next({ kind: 'load', index: Number(key) }) : undefined),
  set: (_, key, value) => (next({ kind: 'store', index: Number(key), value }), true),
});
const HANDLE = {};

// The run in progress: its actor's history and how far the replay has got.
let replay = null;
function next(op) {
  if (replay.at < replay.history.length) return replay.history[replay.at++];
  throw new Step(op);
}

// Atomics as the interpreted code calls it: on WORDS, steps; anything else, the real thing.
const realAtomics = globalThis.Atomics;
const modelAtomics = Object.create(realAtomics);
for (const kind of ['load', 'store', 'exchange', 'add', 'sub', 'compareExchange', 'or', 'and']) {
  modelAtomics[kind] = (array, index, ...args) => (array === WORDS ? next({ kind, index, args }) : realAtomics[kind](array, index, ...args));
}

// Runs `fn` under the interpreter with `history`: { done, value } or { op } (the next step).
function runActor(fn, history) {
  const saved = { futexWait: native.futex.wait, futexWake: native.futex.wake, now: performance.now };
  let clock = 0;
  replay = { history, at: 0 };
  globalThis.Atomics = modelAtomics;
  native.futex.wait = (handle, offset, expected) => next({ kind: 'futexWait', index: offset >> 2, expected });
  native.futex.wake = (handle, offset, count) => next({ kind: 'futexWake', index: offset >> 2, count });
  // A clock that moves 1 ms a reading: spins end after their first time check, the same
  // way every run, and no deadline (Infinity) ever passes.
  performance.now = () => (clock += 1);
  try {
    return { done: true, value: fn() };
  } catch (err) {
    if (err instanceof Step) return { op: err.op };
    throw err;
  } finally {
    globalThis.Atomics = realAtomics;
    native.futex.wait = saved.futexWait;
    native.futex.wake = saved.futexWake;
    performance.now = saved.now;
    replay = null;
  }
}

const sleeper = { i32: WORDS, handle: HANDLE, flag: FLAG, seq: SEQ, bell: null, bellOff: 2 };
// The consumer: one real waitSync() per message ('block': a short spin, then the sleep).
const plan = {
  attempt: () => next({ kind: 'attempt' }),
  checkPeer: () => {},
  // No death watch in the model: every sleep is bounded, as when a watch cannot be armed.
  watchPeer: () => false,
  sleeper,
  strategy: 'block',
  budget: new SpinBudget(),
  deadline: Infinity,
  object: 'model',
  what: 'a message',
};
const realConsumer = () => channelWait.waitSync(plan);
// A producer's part after it publishes: the real wake().
const realWake = () => channelWait.wake(sleeper);

// The consumer's sleep with the flag raised before the word is read: the order the
// protocol replaced, written out for the control below.
function flagFirstConsumer() {
  for (;;) {
    if (plan.attempt() !== undefined) return;
    Atomics.store(WORDS, FLAG, 1);
    const expected = Atomics.load(WORDS, SEQ);
    if (plan.attempt() !== undefined) return;
    native.futex.wait(HANDLE, SEQ << 2, expected >>> 0, 100);
  }
}

// State: the words, the ring's published and consumed counts, and per actor what it has
// finished and the history of its current call.
function explore(consumerFn) {
  const start = { words: [0, 0], published: 0, got: 0, blocked: false, c: { calls: 0, history: [] }, p: [{ calls: 0, published: false, history: [] }, { calls: 0, published: false, history: [] }] };
  const key = (s) => JSON.stringify(s);
  const seen = new Set([key(start)]);
  const queue = [start];
  let lost = 0;
  const successors = (s) => {
    const out = [];
    if (s.c.calls < TOTAL && !s.blocked) out.push(stepConsumer(s, consumerFn));
    for (const p of [0, 1]) if (s.p[p].calls < K) out.push(stepProducer(s, p));
    return out;
  };
  while (queue.length > 0) {
    const s = queue.pop();
    const next = successors(s);
    if (next.length === 0 && s.got < TOTAL) lost++;
    for (const n of next) {
      const k = key(n);
      if (!seen.has(k)) {
        seen.add(k);
        queue.push(n);
      }
    }
  }
  return { lost, states: seen.size };
}

// Performs an actor's `op` on state `s`; returns the result to record, or `blocked` for
// a futex wait that sleeps.
function perform(s, op) {
  const w = s.words;
  switch (op.kind) {
    case 'load':
      return w[op.index];
    case 'store':
      w[op.index] = op.args ? op.args[0] : op.value;
      return w[op.index];
    case 'exchange': {
      const old = w[op.index];
      w[op.index] = op.args[0];
      return old;
    }
    case 'add': {
      const old = w[op.index];
      w[op.index] = (old + op.args[0]) | 0;
      return old;
    }
    case 'attempt':
      if (s.published > s.got) {
        s.got++;
        return 1;
      }
      return undefined;
    case 'futexWait':
      if ((w[op.index] >>> 0) !== op.expected) return 'mismatch';
      return blocked;
    case 'futexWake': {
      if (!s.blocked) return 0;
      s.blocked = false;
      s.c.history.push('ok');
      return 1;
    }
    default:
      throw new Error(`the model does not know ${op.kind} (lib/channel/wait.ts uses it now: teach it here)`);
  }
}
const blocked = Symbol('blocked');

function stepConsumer(s0, fn) {
  const s = structuredClone(s0);
  const r = runActor(fn, s.c.history);
  if (r.done) {
    s.c = { calls: s.c.calls + 1, history: [] };
    return s;
  }
  const result = perform(s, r.op);
  if (result === blocked) s.blocked = true;
  else s.c.history.push(result);
  return s;
}

function stepProducer(s0, p) {
  const s = structuredClone(s0);
  const me = s.p[p];
  if (!me.published) {
    // Publishing (the ring's head store) comes first, then the real wake().
    s.published++;
    me.published = true;
    return s;
  }
  const r = runActor(realWake, me.history);
  if (r.done) {
    s.p[p] = { calls: me.calls + 1, published: false, history: [] };
    return s;
  }
  me.history.push(perform(s, r.op));
  return s;
}

t.test('the real sleep protocol (waitSync and wake) loses no wake-up in any interleaving', async (t) => {
  const { lost, states } = explore(realConsumer);
  t.ok(states > 5_000, `${states} states explored`);
  t.equal(lost, 0, 'no state leaves the consumer asleep with messages unread');
});

t.test('raising the flag before reading the word loses wake-ups (the search finds them)', async (t) => {
  const { lost, states } = explore(flagFirstConsumer);
  t.ok(lost > 0, `${lost} of ${states} states leave the consumer asleep with messages unread`);
});

t.test('the interpreter sees the steps the code takes', async (t) => {
  // One consumer call against an empty ring, step by step: the spin's attempts, then
  // the word, the flag, the re-check and the futex wait, in this order.
  const history = [];
  const kinds = [];
  for (let i = 0; i < 40; i++) {
    const r = runActor(realConsumer, history);
    if (r.done || r.op.kind === 'futexWait') {
      kinds.push(r.op?.kind ?? 'done');
      break;
    }
    kinds.push(r.op.kind === 'load' || r.op.kind === 'store' ? `${r.op.kind} ${r.op.index === FLAG ? 'flag' : 'seq'}` : r.op.kind);
    history.push(r.op.kind === 'attempt' ? undefined : 0);
  }
  const sleep = kinds.slice(kinds.lastIndexOf('attempt', kinds.indexOf('load seq')) + 1);
  t.same(sleep, ['load seq', 'store flag', 'attempt', 'futexWait'], 'read the word, raise the flag, re-check, sleep');
  t.ok(kinds.indexOf('load seq') > 0 && kinds.slice(0, kinds.indexOf('load seq')).every((k) => k === 'attempt'), 'after a spin of attempts');
  // A producer's wake with the flag raised: read it, clear it, bump the word, wake.
  const wakeKinds = [];
  const wakeHistory = [];
  for (const answer of [1, 1, 0, 1]) {
    const r = runActor(realWake, wakeHistory);
    if (r.done) break;
    wakeKinds.push(`${r.op.kind} ${r.op.index === FLAG ? 'flag' : 'seq'}`);
    wakeHistory.push(answer);
  }
  t.same(wakeKinds, ['load flag', 'exchange flag', 'add seq', 'futexWake seq']);
});

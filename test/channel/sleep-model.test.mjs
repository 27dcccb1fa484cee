// The channel's sleep protocol (lib/channel_wait.ts, top of the file) as a model: every
// interleaving of two producers that publish K messages each and a consumer that
// waits for all of them, explored exhaustively. A state in which nobody can move
// while messages are still unread is a lost wake-up (the real consumer would sleep out
// its 100 ms slice). The protocol as written has none; the order it replaced (flag
// raised before the futex word is read) has some, which shows the search finds them.
import t from 'tap';

const K = 3;
const TOTAL = 2 * K;

// State: [published, flag, seq, consumer got, consumer pc, consumer expected, consumer
// blocked, producer 0 sent, producer 0 pc, producer 1 sent, producer 1 pc].
const [PUB, FLAG, SEQ, GOT, CPC, EXP, BLOCKED] = [0, 1, 2, 3, 4, 5, 6];
const SENT = (p) => 7 + 2 * p;
const PPC = (p) => 8 + 2 * p;

// The consumer's steps. `seqFirst`: read the futex word, then raise the flag (the
// protocol); otherwise the other way round.
function consumerStep(s, seqFirst) {
  const n = [...s];
  switch (s[CPC]) {
    case 0: // the attempt before sleeping (the spin)
      if (s[PUB] > s[GOT]) n[GOT]++;
      else n[CPC] = 1;
      break;
    case 1:
      if (seqFirst) n[EXP] = s[SEQ];
      else n[FLAG] = 1;
      n[CPC] = 2;
      break;
    case 2:
      if (seqFirst) n[FLAG] = 1;
      else n[EXP] = s[SEQ];
      n[CPC] = 3;
      break;
    case 3: // the re-check
      if (s[PUB] > s[GOT]) {
        n[GOT]++;
        n[CPC] = 0;
      } else n[CPC] = 4;
      break;
    case 4: // futex_wait(seq, expected)
      n[CPC] = 0;
      if (s[SEQ] === s[EXP]) n[BLOCKED] = 1;
      break;
  }
  return n;
}

// A producer's steps: publish; plain load of the flag; exchange; bump; wake.
function producerStep(s, p) {
  const n = [...s];
  const next = () => {
    n[SENT(p)]++;
    n[PPC(p)] = 0;
  };
  switch (s[PPC(p)]) {
    case 0:
      n[PUB]++;
      n[PPC(p)] = 1;
      break;
    case 1:
      if (s[FLAG]) n[PPC(p)] = 2;
      else next();
      break;
    case 2:
      n[FLAG] = 0;
      if (s[FLAG]) n[PPC(p)] = 3;
      else next();
      break;
    case 3:
      n[SEQ]++;
      n[PPC(p)] = 4;
      break;
    case 4:
      n[BLOCKED] = 0;
      next();
      break;
  }
  return n;
}

function lostWakeups(seqFirst) {
  const start = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  const seen = new Set([start.join()]);
  const queue = [start];
  let lost = 0;
  while (queue.length > 0) {
    const s = queue.pop();
    const next = [];
    if (s[GOT] < TOTAL && !s[BLOCKED]) next.push(consumerStep(s, seqFirst));
    for (const p of [0, 1]) if (s[SENT(p)] < K) next.push(producerStep(s, p));
    if (next.length === 0 && s[GOT] < TOTAL) lost++;
    for (const n of next) {
      const key = n.join();
      if (!seen.has(key)) {
        seen.add(key);
        queue.push(n);
      }
    }
  }
  return { lost, states: seen.size };
}

t.test('the sleep protocol loses no wake-up in any interleaving', async (t) => {
  const { lost, states } = lostWakeups(true);
  t.ok(states > 10_000, `${states} states explored`);
  t.equal(lost, 0, 'no state leaves the consumer asleep with messages unread');
});

t.test('raising the flag before reading the word loses wake-ups (the search finds them)', async (t) => {
  const { lost } = lostWakeups(false);
  t.ok(lost > 0, `${lost} states leave the consumer asleep with messages unread`);
});

// scripts/soak.js, the README's soak run, kept working: a short run (a message count,
// not a time) must end with every message of both producers received once, in order
// and intact, and say so in its JSON line.
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { run } from '../helpers.mjs';

const soak = fileURLToPath(new URL('../../scripts/soak.js', import.meta.url));
const MESSAGES = 50_000;

t.test(`scripts/soak.js --messages ${MESSAGES}`, async (t) => {
  // A hang guard only: the run takes a few seconds.
  const r = await run(process.execPath, [soak, '--messages', String(MESSAGES)], { timeoutMs: 120_000 });
  t.same({ code: r.code, signal: r.signal }, { code: 0, signal: null }, r.stderr || r.stdout);
  const result = JSON.parse(r.stdout);
  t.match(result, { producers: 2, lost: 0, damagedOrOutOfOrder: 0 });
  t.ok(result.messages >= MESSAGES, `${result.messages} messages received`);
  t.equal(result.sent, result.messages, 'every message sent was received');
  t.notOk('firstBad' in result);
});

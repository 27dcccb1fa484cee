// A producer restart is an everyday event: a consumer in `for await` keeps waiting through
// 20 producer lifetimes, with gaps from none to 3 s between them, some of them ending by
// SIGKILL, and receives every message in order.
import t from 'tap';
import { fixture, node, startUntil, testSeed, seededRandom, uniqueName, within } from '../helpers.mjs';

t.test('a consumer survives 20 producer restarts with gaps of 0 to 3 s', async (t) => {
  const name = uniqueName('restarts');
  const lives = 20;
  const each = 150; // more than the 4 KiB ring holds: every life also waits for room
  const seed = testSeed();
  t.comment(`PODSHM_TEST_SEED=${seed}`);
  const random = seededRandom(seed);
  // Both ends of the range, and the rest spread between them.
  const gaps = Array.from({ length: lives }, (_, i) => (i === 0 ? 0 : i === 1 ? 3000 : Math.floor(random() * 3001)));
  const consumer = await startUntil(t, process.execPath, [fixture('restart-peer.mjs'), 'consumer', name, String(lives * each)], 'ready\n');
  let out = '';
  consumer.stdout.on('data', (d) => (out += d));
  const done = new Promise((resolve) => consumer.once('exit', resolve));
  for (let life = 0; life < lives; life++) {
    await new Promise((r) => setTimeout(r, gaps[life]));
    const args = [fixture('restart-peer.mjs'), 'producer', name, String(life * each), String(each)];
    if (life % 4 === 3) {
      // Killed once everything it sent is committed: a death, not a close.
      const p = await startUntil(t, process.execPath, [...args, 'kill'], 'sent\n');
      const gone = new Promise((resolve) => p.once('exit', resolve));
      p.kill('SIGKILL');
      await gone;
    } else {
      const r = await node('restart-peer.mjs', [...args.slice(1), 'exit']);
      t.equal(r.code, 0, `producer ${life} exit 0 ${r.stderr}`);
    }
  }
  const code = await within(done, 'the consumer finishing', 60_000);
  t.equal(code, 0, out);
  t.match(out, new RegExp(`ok ${lives * each}\\n`), 'every message of every life, in order');
  t.comment(`gaps (ms): ${gaps.join(' ')}`);
});

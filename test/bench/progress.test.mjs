// The suite's progress bar: drawn on a terminal, nothing at all on a stream that is not
// one (a CI log), and cleared at the end of each group.
import t from 'tap';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { progress } = require('../../bench/lib/progress.js');

const stream = (isTTY) => ({ isTTY, written: [], write(s) { this.written.push(s); } });

t.test('on a terminal: one bar per step, counting up to the total, cleared at the end', async (t) => {
  const s = stream(true);
  const bar = progress(4, s);
  bar.step('group: first row');
  bar.step('group: second row');
  bar.end();
  t.equal(s.written.length, 3);
  t.match(s.written[0], /^\r\[#+\.+\] 1\/4 group: first row/);
  t.match(s.written[1], /^\r\[#+\.+\] 2\/4 group: second row/);
  t.ok(s.written[1].match(/#/g).length > s.written[0].match(/#/g).length, 'the bar grows with the steps');
  t.equal(s.written[2], '\r\x1b[K');
});

t.test('not a terminal: nothing written', async (t) => {
  for (const isTTY of [false, undefined]) {
    const s = stream(isTTY);
    const bar = progress(4, s);
    bar.step('group: row');
    bar.end();
    t.same(s.written, [], `isTTY ${isTTY}`);
  }
});

// The "did you mean" suggestion behind unknown option keys and misspelled CLI words.
import t from 'tap';
import { internal } from '../internal.mjs';

const { nearest } = internal('core/nearest');

t.test('a typo finds the word meant; something unrelated finds nothing', async (t) => {
  t.equal(nearest('capacty', ['capacity', 'mode', 'wait']), 'capacity');
  t.equal(nearest('TIMEOUT', ['timeout', 'signal']), 'timeout', 'case does not count');
  t.equal(nearest('doctr', ['doctor', 'ls', 'rm', 'gc']), 'doctor');
  t.equal(nearest('hlep', ['help', 'ls', 'top']), 'help', 'two letters swapped are one typo');
  t.equal(nearest('--dri', ['--dir', '--json', '--help']), '--dir');
  t.equal(nearest('ohlp', ['help']), null, 'a swap and more is not');
  t.equal(nearest('banana', ['capacity', 'mode', 'wait']), null);
  t.equal(nearest('x', ['ls', 'rm']), null, 'a one-letter word suggests nothing');
  t.equal(nearest('a', []), null);
});

// Kubernetes memory quantities as the webhook reads them (limits and annotations).
import t from 'tap';
import { parseQuantity } from 'podshm/webhook';

const Ki = 1024;
const Mi = 1024 * Ki;
const Gi = 1024 * Mi;

t.test('valid quantities', async (t) => {
  const table = [
    ['0', 0],
    ['134217728', 128 * Mi],
    [134217728, 128 * Mi],
    ['1Ki', Ki],
    ['64Mi', 64 * Mi],
    ['1Gi', Gi],
    ['1.5Gi', 1.5 * Gi],
    ['.5Mi', Mi / 2],
    ['2.Mi', 2 * Mi],
    ['1Ti', 1024 * Gi],
    ['2Pi', 2 * 1024 * 1024 * Gi],
    ['1k', 1000],
    ['1M', 1e6],
    ['300M', 3e8],
    ['1G', 1e9],
    ['1.25G', 1.25e9],
    ['2T', 2e12],
    ['1P', 1e15],
    ['1E', 1e18],
    ['1e9', 1e9],
    ['1E9', 1e9],
    ['5e+3', 5000],
    ['1.5e3', 1500],
    ['12e-1', 2], // 1.2 bytes rounds up, as Quantity.Value() does
    ['100m', 1],
    ['1n', 1],
    ['1e-999', 1],
    ['0.0Gi', 0],
    ['+128Mi', 128 * Mi],
    ['-0', 0],
    [' 64Mi ', 64 * Mi],
    [1.5, 2],
  ];
  for (const [input, bytes] of table) t.equal(parseQuantity(input), bytes, JSON.stringify(input));
});

t.test('garbage is refused with a clear error', async (t) => {
  const bad = ['', 'abc', '1K', '1KB', '1kb', '1Mib', '1mi', 'Mi', '1 Mi', '1.2.3Mi', '0x10', '1e', 'e9', '1e9Mi', '--1',
    '-1Mi', '-0.5G', '1e31', '1e99999999999', '1'.repeat(65), '∞', 'NaN', '1_000'];
  for (const input of bad) {
    t.throws(() => parseQuantity(input), { code: 'ERR_OUT_OF_RANGE' }, JSON.stringify(input));
  }
  for (const input of [null, undefined, {}, [], true, 10n]) {
    t.throws(() => parseQuantity(input), { code: 'ERR_INVALID_ARG_TYPE' }, String(input));
  }
  for (const input of [Infinity, NaN, -1]) t.throws(() => parseQuantity(input), { code: 'ERR_OUT_OF_RANGE' }, String(input));
  t.throws(() => parseQuantity('1K', 'limit'), { message: /"limit".*512Mi.*"1K"/ }, 'the message names the argument, shows examples and the value');
});

// System V segments through the podshm command, run as a user would run it.
import t from 'tap';
import { randomInt } from 'node:crypto';
import { SysVSharedMemory } from 'podshm';
import { run } from '../helpers.mjs';

const main = new URL('../../dist/cjs/cli/main.js', import.meta.url).pathname;
const cli = (...args) => run(process.execPath, [main, ...args]);

t.test('podshm ls shows segments with attach counts; podshm rm --sysv removes one', async (t) => {
  const seg = SysVSharedMemory.create(randomInt(1, 2 ** 31 - 1), 10_000);
  t.teardown(() => {
    if (!seg.stat().removed) seg.unlink();
    seg.close();
  });
  const other = SysVSharedMemory.open(seg.key);
  t.teardown(() => other.close());
  const hex = '0x' + (seg.key >>> 0).toString(16).padStart(8, '0');

  const listing = await cli('ls', '--json');
  t.equal(listing.code, 0, listing.stderr);
  const listed = JSON.parse(listing.stdout).sysv.segments.find((s) => s.id === seg.id);
  t.match(listed, { keyHex: hex, size: 10_000, attached: 2, mode: '0600', creatorPid: process.pid });
  const table = await cli('ls');
  t.match(table.stdout, new RegExp(`^\\s*${hex}\\s+${seg.id}\\s`, 'm'), 'the table has the segment');

  const byKey = await cli('rm', '--sysv', hex);
  t.equal(byKey.code, 0, byKey.stderr);
  t.equal(seg.stat().removed, true, 'marked for removal, alive while attached');
  t.equal(SysVSharedMemory.list().find((s) => s.id === seg.id)?.attachCount, 2);

  const missing = await cli('rm', '--sysv', 'id:2147483000');
  t.equal(missing.code, 1);
  t.match(missing.stderr, /^podshm rm: ENOENT/);
  const bad = await cli('rm', '--sysv', 'nonsense');
  t.equal(bad.code, 2, 'bad arguments: usage and exit code 2');
  t.match(bad.stderr, /--sysv takes a 32-bit key/);
  for (const outOfRange of ['99999999999', '0x123456789', 'id:99999999999', '0', '0x0']) {
    const r = await cli('rm', '--sysv', outOfRange);
    t.equal(r.code, 2, `${outOfRange}: a usage error, before anything is removed`);
    t.match(r.stderr, /32-bit key/);
  }
});

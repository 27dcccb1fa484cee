// The `podshm sysv` command, run as a user would run it.
import t from 'tap';
import { execFile } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SysVSharedMemory } from 'podshm';

t.test('podshm sysv lists segments with attach counts and removes one', async (t) => {
  const cli = (...args) => promisify(execFile)(process.execPath, [fileURLToPath(new URL('../dist/cjs/cli/main.js', import.meta.url)), ...args]);
  const seg = SysVSharedMemory.create(randomInt(1, 2 ** 31 - 1), 10_000);
  t.teardown(() => {
    try {
      seg.remove();
    } catch {
      // The test removed it.
    }
    seg.detach();
  });
  const other = SysVSharedMemory.open(seg.key);
  t.teardown(() => other.detach());
  const hex = '0x' + seg.key.toString(16).padStart(8, '0');

  const table = (await cli('sysv')).stdout;
  t.match(table, new RegExp(`^${hex}\\s+${seg.id}\\s+0600\\s+9\\.8 KiB\\s+2\\s+${process.pid}\\b`, 'm'), table);
  const listed = JSON.parse((await cli('sysv', '--json')).stdout).segments.find((s) => s.id === seg.id);
  t.match(listed, { key: seg.key, attachCount: 2, removed: false });

  await cli('sysv', 'rm', hex);
  t.equal(seg.stat().removed, true);
  const err = await cli('sysv', 'rm', 'nonsense').catch((e) => e);
  t.equal(err.code, 2, 'bad arguments: usage and exit code 2');
});

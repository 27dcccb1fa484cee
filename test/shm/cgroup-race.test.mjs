// Processes of one tight memory cgroup creating shared memory at the same time: each
// checks the cgroup's headroom and then reserves its pages, and two that check at once
// must not both be let through into an OOM kill. Real v1/v2 memory cgroups, children of
// this process's own, repeated to catch the race.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { MiB, memoryHierarchy, startFiller } from '../pod.mjs';

const RUNS = Number(process.env.PODSHM_CGROUP_RACE_RUNS ?? 6);
const hierarchy = process.getuid() === 0 ? memoryHierarchy() : 'needs root to make memory cgroups';
const skip = typeof hierarchy === 'string' ? hierarchy : false;


/** RUNS times: two fillers of `mib` MiB objects in a fresh cgroup of `limit` MiB; each must stop with a CapacityError. */
async function race(t, limitMiB, mib) {
  const { version, base } = hierarchy;
  let kills = 0;
  for (let run = 0; run < RUNS; run++) {
    const cg = path.join(base, `podshm-test-oomrace-${process.pid}-${run}`);
    const dir = fs.mkdtempSync('/dev/shm/podshm-oomrace-');
    fs.mkdirSync(cg);
    const children = [];
    try {
      fs.writeFileSync(path.join(cg, version === 1 ? 'memory.limit_in_bytes' : 'memory.max'), String(limitMiB * MiB));
      if (version === 2) fs.writeFileSync(path.join(cg, 'memory.swap.max'), '0');
      children.push(startFiller(cg, [dir, 'a', String(mib)]), startFiller(cg, [dir, 'b', String(mib)]));
      await Promise.all(children.map((c) => c.ready));
      for (const c of children) c.stdin.end('go\n');
      const results = await Promise.all(children.map((c) => c.done));
      for (const r of results) {
        if (r.signal !== null) kills++;
        t.same({ signal: r.signal, code: r.code, name: r.report?.name, stoppedBy: r.report?.code }, { signal: null, code: 0, name: 'CapacityError', stoppedBy: 'ENOSPC' }, `run ${run}: stopped by a CapacityError (made ${r.report?.made})`);
      }
    } finally {
      for (const c of children) c.kill('SIGKILL');
      await Promise.all(children.map((c) => c.done));
      fs.rmSync(dir, { recursive: true, force: true });
      fs.rmdirSync(cg);
    }
  }
  t.comment(`cgroup race, ${limitMiB} MiB limit, ${mib} MiB objects: ${RUNS} runs of 2 processes, ${kills} OOM kills`);
}

t.test('two processes of a 128 MiB cgroup creating 2 MiB objects at once never meet the OOM killer', { skip }, (t) => race(t, 128, 2));

// Two requests that each fit the headroom but not together: only the lock around check
// and reservation keeps the second from being let through.
t.test('two processes of a 256 MiB cgroup creating 120 MiB objects at once never meet the OOM killer', { skip }, (t) => race(t, 256, 120));

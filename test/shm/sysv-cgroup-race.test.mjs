// The System V twin of cgroup-race.test.mjs: processes of one tight memory cgroup
// creating segments at the same time. Each checks the cgroup's headroom and then
// pre-faults its segment; two that check at once must not both be let through into an
// OOM kill. Real v1/v2 memory cgroups, children of this process's own, and a private
// IPC namespace per run, so every segment goes with its last process.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { MiB, memoryHierarchy, podSupport, startFiller } from '../pod.mjs';

// Bounded so the file stays within about 30 s on a loaded machine.
const RUNS = Number(process.env.PODSHM_CGROUP_RACE_RUNS ?? 6);
const why = podSupport({ cgroup: true });
const hierarchy = why === null ? memoryHierarchy() : why;
const skip = typeof hierarchy === 'string' ? hierarchy : false;

/** RUNS times: two creators of `mib` MiB segments in a fresh cgroup of `limit` MiB; each must stop with a SysVCapacityError. */
async function race(t, limitMiB, mib) {
  const { version, base } = hierarchy;
  let kills = 0;
  for (let run = 0; run < RUNS; run++) {
    const cg = path.join(base, `podshm-test-${process.pid}-sysvrace-${run}`);
    fs.mkdirSync(cg);
    const children = [];
    try {
      fs.writeFileSync(path.join(cg, version === 1 ? 'memory.limit_in_bytes' : 'memory.max'), String(limitMiB * MiB));
      if (version === 2) fs.writeFileSync(path.join(cg, 'memory.swap.max'), '0');
      // Each run in an IPC namespace of its own: the first filler makes it (unshare without
      // --fork execs in place, so its pid is the namespace's), the second joins it.
      const first = startFiller(cg, ['sysv', 'a', String(mib)], ['unshare', '--ipc']);
      children.push(first);
      await first.ready;
      children.push(startFiller(cg, ['sysv', 'b', String(mib)], ['nsenter', '--ipc', '--target', String(first.pid)]));
      await children[1].ready;
      for (const c of children) c.stdin.end('go\n');
      const results = await Promise.all(children.map((c) => c.done));
      for (const r of results) {
        if (r.signal !== null) kills++;
        t.same(
          { signal: r.signal, code: r.code, name: r.report?.name, stoppedBy: r.report?.code, limit: r.report?.limit },
          { signal: null, code: 0, name: 'SysVCapacityError', stoppedBy: 'ENOSPC', limit: 'cgroup' },
          `run ${run}: stopped by a SysVCapacityError (made ${r.report?.made})`,
        );
      }
    } finally {
      for (const c of children) c.kill('SIGKILL');
      await Promise.all(children.map((c) => c.done));
      fs.rmdirSync(cg);
    }
  }
  t.comment(`SysV cgroup race, ${limitMiB} MiB limit, ${mib} MiB segments: ${RUNS} runs of 2 processes, ${kills} OOM kills`);
}

t.test('two processes of a 128 MiB cgroup creating 2 MiB segments at once never meet the OOM killer', { skip }, (t) => race(t, 128, 2));

// Two requests that each fit the headroom but not together: only the lock around check
// and pre-fault keeps the second from being let through.
t.test('two processes of a 256 MiB cgroup creating 120 MiB segments at once never meet the OOM killer', { skip }, (t) => race(t, 256, 120));

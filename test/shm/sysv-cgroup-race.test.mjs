// The System V twin of cgroup-race.test.mjs: processes of one tight memory cgroup
// creating segments at the same time. Each checks the cgroup's headroom and then
// pre-faults its segment; two that check at once must not both be let through into an
// OOM kill. Real v1/v2 memory cgroups, children of this process's own, and a private
// IPC namespace per run, so every segment goes with its last process.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { fixture } from '../helpers.mjs';
import { MiB, memoryHierarchy, podSupport } from '../pod.mjs';

// Bounded so the file stays within about 30 s on a loaded machine.
const RUNS = Number(process.env.PODSHM_CGROUP_RACE_RUNS ?? 6);
const why = podSupport({ cgroup: true });
const hierarchy = why === null ? memoryHierarchy() : why;
const skip = typeof hierarchy === 'string' ? hierarchy : false;

// `enter` puts the filler in the run's IPC namespace: the first makes it (unshare
// without --fork execs in place, so its pid is the namespace's), the second joins it.
function filler(cg, enter, tag, mib) {
  // Into the cgroup before node starts, so every page it touches is charged there.
  const child = spawn(enter[0], [...enter.slice(1), 'sh', '-c', 'echo $$ > "$1/cgroup.procs" && exec "$2" "$3" sysv "$4" "$5"', 'sh', cg, process.execPath, fixture('cgroup-filler.mjs'), tag, String(mib)], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.ready = new Promise((resolve, reject) => {
    child.stdout.on('data', () => out.includes('ready\n') && resolve());
    child.once('exit', () => reject(new Error(`filler exited before it was ready: ${out}`)));
  });
  child.done = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, report: out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l))[0] })));
  return child;
}

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
      const first = filler(cg, ['unshare', '--ipc'], 'a', mib);
      children.push(first);
      await first.ready;
      children.push(filler(cg, ['nsenter', '--ipc', '--target', String(first.pid)], 'b', mib));
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

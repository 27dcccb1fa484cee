// A cpu cgroup (v1 controller at /sys/fs/cgroup/cpu) per process with a CFS quota, as a
// Kubernetes CPU limit makes one. Processes enter it before they exec (bench/lib/spawn.js).
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const ROOT = '/sys/fs/cgroup/cpu';
let counter = 0;

/** Why no cpu cgroup can be made here, or null. */
function cpuCgroupProblem() {
  if (!fs.existsSync(path.join(ROOT, 'cpu.cfs_quota_us'))) return `no cgroup v1 cpu controller at ${ROOT}`;
  let dir = null;
  try {
    dir = make(0.5);
    return null;
  } catch (err) {
    return `cannot make a cpu cgroup under ${ROOT}: ${err.code ?? err.message}`;
  } finally {
    if (dir) remove(dir);
  }
}

/** A new cgroup limited to `cpus` of a CPU per 100 ms period; returns its directory. */
function make(cpus, periodUs = 100_000) {
  const dir = path.join(ROOT, `podshm-bench-${process.pid}-${++counter}`);
  fs.mkdirSync(dir);
  try {
    fs.writeFileSync(path.join(dir, 'cpu.cfs_period_us'), String(periodUs));
    fs.writeFileSync(path.join(dir, 'cpu.cfs_quota_us'), String(Math.round(cpus * periodUs)));
  } catch (err) {
    fs.rmdirSync(dir);
    throw err;
  }
  return dir;
}

/** Removes a cgroup whose processes have exited. */
function remove(dir) {
  fs.rmdirSync(dir);
}

module.exports = { cpuCgroupProblem, make, remove };

// One measurement of one row: fresh peer processes for the trial's kind, the driver's
// kernel objects made before and removed after, and the peers' reports turned into the
// suite's columns (ns, p50/p99/p999 in ns, msgPerSec, bytesPerSec, cpuUsPerMsg, ...).
'use strict';
const path = require('node:path');
const cgroup = require('./cgroup');
const { runPeers } = require('./spawn');

const driverOf = (name) => require(path.join(__dirname, '..', 'drivers', name));

function specs(kind, p, row, res) {
  const spec = (role, side, extra = {}) => ({ driver: row.driver, kind, role, side, res, p: { ...p, ...extra }, v: row.v ?? {} });
  switch (kind) {
    case 'rtt':
      return { servers: [spec('echo', 'b')], clients: [spec('ping', 'a')] };
    case 'rate':
      return { servers: [spec('echo', 'b')], clients: [spec('rate', 'a')] };
    case 'inflight':
      return { servers: [spec('echo', 'b')], clients: [spec('window', 'a')] };
    case 'oneway':
      return {
        servers: [spec('sink', 'b')],
        clients: Array.from({ length: p.producers ?? 1 }, (_, i) => spec('source', 'a', { producerId: i })),
      };
    case 'idle':
      return { servers: [], clients: [spec('idle', 'idle')] };
    case 'micro':
      return { servers: [], clients: [spec('micro', 'a')] };
    default:
      throw new Error(`unknown trial kind ${kind}`);
  }
}

function columns(kind, p, results) {
  const by = (role) => results.filter((r) => r.role === role);
  const [client] = by('client');
  const [server] = by('server');
  if (kind === 'rtt') {
    const msgPerSec = 1e9 / client.ns;
    return { ns: client.ns, p50: client.p50, p99: client.p99, p999: client.p999, msgPerSec, bytesPerSec: msgPerSec * p.size, cpuUsPerMsg: (client.cpuUs + server.cpuUs) / client.ops };
  }
  if (kind === 'rate') {
    return { p50: client.p50, p99: client.p99, p999: client.p999, cpuUsPerMsg: server.cpuUs / client.ops };
  }
  if (kind === 'inflight') {
    if (client.ops === 0) throw new Error('no call was answered after the warm-up');
    // The server's CPU over its own measured phase, scaled to the client's.
    const msgPerSec = client.ops / client.seconds;
    return { msgPerSec, cpuUsPerMsg: (client.cpuUs + (server.cpuUs * client.seconds) / server.seconds) / client.ops };
  }
  if (kind === 'oneway') {
    const [sink] = by('sink');
    if (sink.bad > 0) throw new Error(`the sink saw ${sink.bad} messages out of order`);
    if (sink.msgs === 0) throw new Error('the sink counted no message after its warm-up');
    // Each producer's CPU over its own measured time, scaled to the sink's.
    const sourcesUs = by('source').reduce((sum, s) => sum + (s.seconds > 0 ? (s.cpuUs * sink.seconds) / s.seconds : 0), 0);
    const msgPerSec = sink.msgs / sink.seconds;
    return { msgPerSec, bytesPerSec: msgPerSec * p.size, cpuUsPerMsg: (sink.cpuUs + sourcesUs) / sink.msgs };
  }
  if (kind === 'idle') {
    const [r] = by('idle');
    return { cpuPct: (r.cpuUs / (r.seconds * 1e6)) * 100, wakeupsPerSec: r.wakeups / r.seconds };
  }
  const [m] = by('micro');
  return { ns: m.ns, rme: m.rme };
}

/** Measures `row` once; `cpus` puts each peer in its own cgroup with that CPU quota. */
async function measure(kind, p, row, { cpus = null } = {}) {
  const driver = driverOf(row.driver);
  if (driver.direct) return driver.measure(kind, p, row.v ?? {});
  const res = await driver.setup(kind, p, row.v ?? {});
  const cgroups = [];
  const place = (spec) => {
    if (!cpus) return { spec, cgroup: null };
    const dir = cgroup.make(cpus);
    cgroups.push(dir);
    return { spec, cgroup: dir };
  };
  try {
    let { servers, clients } = specs(kind, p, row, res);
    if (driver.forksPeer && servers.length) {
      clients = clients.map((c) => ({ ...c, peer: servers[0] }));
      servers = [];
    }
    const guardMs = 60_000 + (p.warmSeconds + p.seconds) * 10_000;
    const results = await runPeers(servers.map(place), clients.map(place), guardMs);
    return columns(kind, p, results);
  } finally {
    await driver.cleanup(res);
    for (const dir of cgroups) cgroup.remove(dir);
  }
}

module.exports = { measure, driverOf };

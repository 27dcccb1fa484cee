// A service's figures, read without attaching, between real processes: a server, two
// clients with a known number of calls made and held in flight; collectStats(), `podshm
// metrics`, `podshm top` and `podshm ls` report exactly those, then follow a client's and
// the server's deaths; a scribbled figure reads as unknown.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { channelRates, collectStats } from 'podshm';
import { fixture, run, startUntil, until } from '../helpers.mjs';
import { cli, exited, metricValue, metricsOnce, privateDir } from './figures.mjs';

const objects = (dir) => collectStats({ dir, sysv: false, mqueue: false }).objects;

/** Resolves once `child` has printed `line` `times` times in all. */
function said(child, line, times) {
  let seen = 0;
  return new Promise((resolve) => child.stdout.on('data', (d) => (seen += String(d).split('\n').filter((l) => l === line).length) >= times && resolve()));
}

t.test('a server and two clients: exactly the calls made, in flight and running; then their deaths', async (t) => {
  const dir = privateDir(t, 'service-figures');
  const name = `/service-figures-${process.pid}`;
  const server = await startUntil(t, process.execPath, [fixture('observe-peer.mjs'), 'server', dir, name], 'serving\n');
  const held = said(server, 'held', 3);
  const before = collectStats({ dir, sysv: false, mqueue: false });
  const a = await startUntil(t, process.execPath, [fixture('observe-peer.mjs'), 'client', dir, name, '20', '1'], 'called\n');
  const b = await startUntil(t, process.execPath, [fixture('observe-peer.mjs'), 'client', dir, name, '5', '2'], 'called\n');
  await held;

  const snapshot = collectStats({ dir, sysv: false, mqueue: false });
  const all = snapshot.objects;
  const service = all.find((o) => o.name === name);
  const rates = channelRates(before, snapshot).get(service);
  t.equal(Math.round(rates.callsPerSecond * ((snapshot.at - before.at) / 1000)), 28, 'the rate between two readings: exactly the calls made in between');
  t.equal(service.kind, 'service');
  t.same(service.service, { server: 'live', workers: 1, callsStarted: 28, callsRunning: 3, clientsLive: 2, clientsDead: 0, callsInFlight: 3 }, 'the calls made, running and in flight');
  const clients = all.filter((o) => o.kind === 'client').sort((x, y) => x.client.callsMade - y.client.callsMade);
  t.equal(clients.length, 2);
  t.same(clients.map((c) => c.client), [
    { service: name, callsMade: 7, callsInFlight: 2 },
    { service: name, callsMade: 21, callsInFlight: 1 },
  ]);
  t.equal(clients[1].channel.messagesSent, 20, "the answers in the client's ring");

  const families = await metricsOnce(dir);
  const labels = { kind: 'service', name };
  t.equal(metricValue(families, 'podshm_service_calls_total', labels), 28, 'metrics: exactly the calls made');
  t.equal(metricValue(families, 'podshm_service_calls_in_flight', labels), 3);
  t.equal(metricValue(families, 'podshm_service_calls_running', labels), 3);
  t.equal(metricValue(families, 'podshm_service_workers', labels), 1);
  t.equal(metricValue(families, 'podshm_service_clients', { ...labels, state: 'live' }), 2);
  t.equal(metricValue(families, 'podshm_client_calls_in_flight', { kind: 'client', name: clients[0].name, service: name }), 2);
  t.equal(metricValue(families, 'podshm_client_calls_total', { kind: 'client', name: clients[1].name, service: name }), 21);

  const top = await run(process.execPath, [cli, 'top', '--iterations', '1', '--dir', dir, '--no-mqueue']);
  t.equal(top.code, 0, top.stderr);
  t.match(top.stdout, new RegExp(`service\\s+${name}\\s+1w 2cl\\s+-\\s+-\\s+\\S+\\s+\\d+\\s+3\\s`), 'top: a worker, two clients, three calls in flight');
  t.match(top.stdout, new RegExp(`client\\s+${clients[0].name.replace(/\./g, '\\.')}\\s.*\\s2\\s`), 'top: a client and its calls in flight');

  const ls = await run(process.execPath, [cli, 'ls', '--json', '--dir', dir]);
  const listed = JSON.parse(ls.stdout).posix.objects;
  t.match(listed.find((o) => o.name === name), { kind: 'channel', role: 'service', service: { clientsLive: 2, callsInFlight: 3 } }, 'ls: the service, its clients and calls in flight');
  t.match(listed.find((o) => o.name === clients[0].name), { role: 'client', client: { service: name, callsInFlight: 2 } });
  const text = await run(process.execPath, [cli, 'ls', '--dir', dir]);
  t.match(text.stdout, /\sservice\s+\d+\s+-\s+2\s+3\n/, 'ls: a service row with its clients and calls (the only service here)');

  // The client with two held calls dies: the server aborts their handlers and removes its ring.
  b.kill('SIGKILL');
  await exited(b);
  const figures = () => objects(dir).find((o) => o.name === name).service;
  // The server learns of the death from the kernel (a lock dropped), at its own pace.
  await until(() => {
    const s = figures();
    return s.clientsLive === 1 && s.clientsDead === 0 && s.callsRunning === 1;
  }, 'the server to end the dead client');
  const after = figures();
  t.match(after, { callsInFlight: 1, callsStarted: 28 }, "the dead client's calls are no longer in flight");

  server.kill('SIGKILL');
  await exited(server);
  const gone = objects(dir).find((o) => o.name === name).service;
  t.match(gone, { server: 'died', workers: 0, callsRunning: 0, callsStarted: 28 }, 'a server killed: no worker, nothing running');
  t.ok(a.exitCode === null, 'the other client lives on');
});

t.test('scribbled figures read as unknown, the rest is still read', async (t) => {
  const dir = privateDir(t, 'service-figures');
  const name = `/service-scribbled-${process.pid}`;
  const server = await startUntil(t, process.execPath, [fixture('observe-peer.mjs'), 'server', dir, name], 'serving\n');
  const held = said(server, 'held', 1);
  await startUntil(t, process.execPath, [fixture('observe-peer.mjs'), 'client', dir, name, '2', '1'], 'called\n');
  await held;
  const client = objects(dir).find((o) => o.kind === 'client');
  const fd = fs.openSync(path.join(dir, client.name.slice(1)), 'r+');
  const f64 = Buffer.alloc(8);
  f64.writeDoubleLE(2 ** 60);
  fs.writeSync(fd, f64, 0, 8, 312 + 16); // the client's ENDED: past 2^53
  fs.closeSync(fd);
  const sfd = fs.openSync(path.join(dir, name.slice(1)), 'r+');
  f64.writeDoubleLE(-3);
  fs.writeSync(sfd, f64, 0, 8, 312 + 8); // the server's STARTED
  fs.closeSync(sfd);

  const all = objects(dir);
  t.same(all.find((o) => o.kind === 'client').client, { service: name, callsMade: 3, callsInFlight: null }, 'a figure past 2^53: unknown');
  t.match(all.find((o) => o.name === name).service, { callsStarted: null, callsRunning: null, callsInFlight: null, clientsLive: 1, workers: 1 });
  const families = await metricsOnce(dir);
  t.equal(metricValue(families, 'podshm_service_calls_total', { name }), undefined, 'no sample for an unknown figure');
  t.equal(metricValue(families, 'podshm_service_workers', { name }), 1);

  // A role no participant writes: the ring is a plain channel again.
  const rfd = fs.openSync(path.join(dir, name.slice(1)), 'r+');
  f64.writeDoubleLE(7);
  fs.writeSync(rfd, f64, 0, 8, 312);
  fs.closeSync(rfd);
  const plain = objects(dir).find((o) => o.name === name);
  t.match(plain, { kind: 'channel', service: null, problem: null });
});

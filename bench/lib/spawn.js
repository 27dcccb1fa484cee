// Starting peer processes (bench/peer.js) and collecting what they report: a READY line
// once a server listens, RESULT lines (also those of processes it forked), its exit.
'use strict';
const { spawn } = require('node:child_process');
const path = require('node:path');

const PEER = path.join(__dirname, '..', 'peer.js');
const live = new Set();

/** Kills every peer still running (an interrupted run), so that its cleanup can run. */
function stopAll() {
  for (const child of live) child.kill('SIGKILL');
}

/** Starts `node bench/peer.js spec`, inside `cgroup` (a directory) from its first instruction. */
function startPeer(spec, cgroup = null) {
  const args = [PEER, JSON.stringify(spec)];
  const child = cgroup
    ? spawn('/bin/sh', ['-c', 'echo $$ > "$0" && exec "$@"', path.join(cgroup, 'cgroup.procs'), process.execPath, ...args], { stdio: ['pipe', 'pipe', 'inherit'] })
    : spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  child.stdin.on('error', () => {}); // a peer that has exited cannot be told to go
  live.add(child);
  child.once('exit', () => live.delete(child));
  const results = [];
  let onReady;
  const ready = new Promise((resolve) => (onReady = resolve));
  let buffered = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d) => {
    buffered += d;
    let nl;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line === 'READY') onReady();
      else if (line.startsWith('RESULT ')) results.push(JSON.parse(line.slice(7)));
    }
  });
  const done = new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) resolve(results);
      else reject(new Error(`${spec.driver} ${spec.role} exited with ${code ?? signal}`));
    });
  });
  // A peer that dies before it is ready must not leave the caller waiting for READY.
  const exitedFirst = done.then(() => {
    throw new Error(`${spec.driver} ${spec.role} exited before it was ready`);
  });
  const readyOrExit = Promise.race([ready, exitedFirst]);
  readyOrExit.catch(() => {}); // awaited only while the run goes on
  return { child, ready: readyOrExit, done };
}

/**
 * Runs servers (each waited for until READY), then clients, tells the clients to go once
 * all are READY, and resolves with every RESULT once all have exited. A run that outlives `guardMs` is killed: a hang guard, not a timing.
 */
async function runPeers(servers, clients, guardMs) {
  const started = [];
  let timer;
  const guard = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`peers still running after ${guardMs / 1000} s`)), guardMs);
  });
  try {
    const work = (async () => {
      for (const s of servers) {
        const peer = startPeer(s.spec, s.cgroup);
        started.push(peer);
        await peer.ready;
      }
      const ones = clients.map((c) => startPeer(c.spec, c.cgroup));
      started.push(...ones);
      await Promise.all(ones.map((p) => p.ready));
      for (const p of ones) p.child.stdin.end('go\n');
      return (await Promise.all(started.map((p) => p.done))).flat();
    })();
    return await Promise.race([work, guard]);
  } finally {
    clearTimeout(timer);
    for (const p of started) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await Promise.all(started.map((p) => p.done.catch(() => {})));
  }
}

module.exports = { runPeers, stopAll };

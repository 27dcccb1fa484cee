#!/usr/bin/env node
// What a service call allocates in the calling process: V8's sampling heap profiler,
// keeping the objects that young and full collections freed, over sequential 64 B calls
// to an echo service in another process. Prints the bytes per call and the functions
// that allocated them (docs/performance.md, "What a wait allocates").
// Standalone: `node bench/call-garbage.mjs [calls]`.
import { spawn } from 'node:child_process';
import { Session } from 'node:inspector/promises';
import { fileURLToPath } from 'node:url';
import { Client, Service } from 'podshm';

const [role, name] = process.argv.slice(2);
if (role === 'server') {
  const service = Service.serve(name, (request) => request);
  process.on('SIGTERM', () => (service.close(), process.exit(0)));
  process.stdout.write('ready\n');
} else {
  const calls = Number(role ?? 10_000);
  const service = `podshm-call-garbage-${process.pid}`;
  const server = spawn(process.execPath, [fileURLToPath(import.meta.url), 'server', service], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve) => server.stdout.once('data', resolve));
  const client = Client.connect(service);
  const msg = new Uint8Array(64);
  // Warm-up: the code compiled, the pump and the rings settled.
  for (let i = 0; i < 5000; i++) await client.call(msg, { timeout: 5000 });
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.startSampling', { samplingInterval: 256, includeObjectsCollectedByMinorGC: true, includeObjectsCollectedByMajorGC: true });
  for (let i = 0; i < calls; i++) await client.call(msg, { timeout: 5000 });
  const { profile } = await session.post('HeapProfiler.stopSampling');
  const bySite = new Map();
  let total = 0;
  const walk = (node) => {
    const { functionName, url, lineNumber } = node.callFrame;
    const site = `${functionName || '(anonymous)'} ${url.split('/').slice(-2).join('/')}:${lineNumber + 1}`;
    total += node.selfSize;
    if (node.selfSize > 0) bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
    node.children.forEach(walk);
  };
  walk(profile.head);
  console.log(`# ${calls} calls, Node ${process.version}: ${(total / calls).toFixed(0)} B allocated per call`);
  for (const [site, bytes] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`${(bytes / calls).toFixed(0).padStart(6)} B  ${site}`);
  client.close();
  server.kill('SIGTERM');
}

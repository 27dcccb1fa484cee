// examples/k8s: the metrics sidecar pod is a valid Pod whose scrape annotations point at
// what its metrics container serves, whose every container shares one /dev/shm, and
// whose `podshm metrics` arguments the real command accepts; the webhook Deployment's
// annotations point at its HTTPS port.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { parseAllDocuments } from 'yaml';
import { Pod } from 'kubernetes-models/v1/Pod';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { run } from '../helpers.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = `${root}dist/cjs/cli/main.js`;
const load = (file) => parseAllDocuments(readFileSync(`${root}${file}`, 'utf8')).map((d) => d.toJS()).filter(Boolean);

t.test('the metrics sidecar pod', async (t) => {
  const [pod, ...rest] = load('examples/k8s/metrics-sidecar.yaml');
  t.equal(rest.length, 0);
  t.doesNotThrow(() => new Pod(pod).validate(), 'a valid Pod');
  const a = pod.metadata.annotations;
  t.equal(a['prometheus.io/scrape'], 'true');
  t.equal(a['prometheus.io/path'], '/metrics');
  const metrics = pod.spec.containers.find((c) => c.args?.[0] === 'metrics');
  t.ok(metrics, 'a container runs podshm metrics');
  const port = metrics.ports.find((p) => String(p.containerPort) === a['prometheus.io/port']);
  t.ok(port, 'the annotated port is the container port');
  t.ok(metrics.args.includes(`--port=${a['prometheus.io/port']}`), 'and the port it serves on');
  t.equal(metrics.readinessProbe.httpGet.path, '/healthz');
  const volume = pod.spec.volumes.find((v) => v.emptyDir?.medium === 'Memory');
  for (const c of pod.spec.containers) {
    t.ok(c.volumeMounts.some((m) => m.name === volume.name && m.mountPath === '/dev/shm'), `${c.name} mounts the shared /dev/shm`);
  }
  t.ok(metrics.volumeMounts.find((m) => m.mountPath === '/dev/shm').readOnly, 'the reader mounts it read-only');
  // The command takes these very arguments (--once prints instead of serving).
  const r = await run(process.execPath, [cli, ...metrics.args, '--once', '--no-mqueue', '--dir', '/dev/shm']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^(# HELP |$)/);
});

t.test('the webhook Deployment is annotated for its own metrics', async (t) => {
  const deployment = load('examples/k8s/webhook.yaml').find((o) => o.kind === 'Deployment');
  t.doesNotThrow(() => new Deployment(deployment).validate());
  const a = deployment.spec.template.metadata.annotations;
  t.equal(a['prometheus.io/scrape'], 'true');
  t.equal(a['prometheus.io/scheme'], 'https');
  t.equal(a['prometheus.io/path'], '/metrics');
  const container = deployment.spec.template.spec.containers[0];
  t.ok(container.ports.some((p) => String(p.containerPort) === a['prometheus.io/port']), 'the annotated port is the container port');
  t.ok(container.args.includes(`--port=${a['prometheus.io/port']}`), 'and the port the webhook serves on');
});

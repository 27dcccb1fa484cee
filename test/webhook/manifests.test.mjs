// The deployable examples: every manifest validates against its schema (kubernetes-models
// for Kubernetes kinds, @kubernetes-models/cert-manager for cert-manager's), the parts
// that must agree with each other do, and the webhook accepts its own Deployment's
// flags and the certificates self-signed-cert.sh makes.
import t from 'tap';
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import jsonpatch from 'fast-json-patch';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { Service } from 'kubernetes-models/v1/Service';
import { Pod } from 'kubernetes-models/v1/Pod';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { MutatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1/MutatingWebhookConfiguration';
import { Issuer } from '@kubernetes-models/cert-manager/cert-manager.io/v1/Issuer';
import { Certificate } from '@kubernetes-models/cert-manager/cert-manager.io/v1/Certificate';
import { mutatePod, reviewAdmission } from 'podshm/webhook';
import { hasOpenssl, json, review, startWebhook, tempDir } from '../fixtures/webhook-lib.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const models = {
  'v1/Namespace': Namespace,
  'v1/ServiceAccount': ServiceAccount,
  'v1/Service': Service,
  'v1/Pod': Pod,
  'apps/v1/Deployment': Deployment,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'admissionregistration.k8s.io/v1/MutatingWebhookConfiguration': MutatingWebhookConfiguration,
  'cert-manager.io/v1/Issuer': Issuer,
  'cert-manager.io/v1/Certificate': Certificate,
};

function load(file) {
  const docs = parseAllDocuments(readFileSync(join(root, file), 'utf8'));
  for (const d of docs) if (d.errors.length) throw new Error(`${file}: ${d.errors[0].message}`);
  return docs.map((d) => d.toJS()).filter(Boolean);
}

const files = [...readdirSync(join(root, 'examples/k8s')).filter((f) => f.endsWith('.yaml')).map((f) => `examples/k8s/${f}`), 'examples/sidecar/pod.yaml'];
const all = Object.fromEntries(files.map((f) => [f, load(f)]));
const find = (kind, name) => Object.values(all).flat().find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));

t.test('every manifest validates against its schema', async (t) => {
  t.ok(files.length >= 4, files.join(', '));
  for (const [file, docs] of Object.entries(all)) {
    for (const obj of docs) {
      const Model = models[`${obj.apiVersion}/${obj.kind}`];
      t.ok(Model, `${file}: a schema for ${obj.apiVersion} ${obj.kind}`);
      if (Model) t.doesNotThrow(() => new Model(obj).validate(), `${file}: ${obj.kind} ${obj.metadata.name} is valid`);
    }
  }
  // The validator is not a rubber stamp: a wrong type in the same object fails.
  const bad = structuredClone(find('MutatingWebhookConfiguration'));
  bad.webhooks[0].timeoutSeconds = 'five';
  t.throws(() => new MutatingWebhookConfiguration(bad).validate());
});

t.test('the webhook configuration is what docs/webhook.md says', async (t) => {
  const config = find('MutatingWebhookConfiguration', 'podshm');
  const [hook] = config.webhooks;
  t.same(hook.admissionReviewVersions, ['v1']);
  t.equal(hook.sideEffects, 'None');
  t.equal(hook.failurePolicy, 'Ignore');
  t.equal(hook.reinvocationPolicy, 'Never');
  t.ok(hook.timeoutSeconds >= 1 && hook.timeoutSeconds <= 30);
  t.same(hook.namespaceSelector, { matchLabels: { 'podshm.io/inject': 'enabled' } });
  t.same(hook.rules, [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }]);

  const svc = find('Service', hook.clientConfig.service.name);
  t.ok(svc, 'the Service it calls exists');
  t.equal(svc.metadata.namespace, hook.clientConfig.service.namespace);
  t.equal(hook.clientConfig.service.path, '/mutate');
  const port = svc.spec.ports.find((p) => p.port === hook.clientConfig.service.port);
  t.ok(port, 'on a port the Service has');

  const cert = find('Certificate');
  t.equal(config.metadata.annotations['cert-manager.io/inject-ca-from'], `${cert.metadata.namespace}/${cert.metadata.name}`, 'CA injected from the Certificate');
  t.ok(cert.spec.dnsNames.includes(`${svc.metadata.name}.${svc.metadata.namespace}.svc`), 'the certificate names the Service');
  t.equal(find('Issuer', cert.spec.issuerRef.name)?.metadata.namespace, cert.metadata.namespace, 'its Issuer exists');

  const deploy = find('Deployment', 'podshm-webhook');
  t.equal(deploy.spec.replicas, 2);
  t.same(svc.spec.selector, deploy.spec.template.metadata.labels, 'the Service selects the Deployment');
  const pod = deploy.spec.template.spec;
  const [c] = pod.containers;
  t.equal(pod.securityContext.runAsNonRoot, true, 'non-root');
  t.equal(c.securityContext.readOnlyRootFilesystem, true, 'read-only root');
  t.same(c.securityContext.capabilities.drop, ['ALL']);
  t.ok(c.resources.limits.memory && c.resources.limits.cpu && c.resources.requests.memory, 'limits and requests');
  t.equal(c.readinessProbe.httpGet.path, '/readyz');
  t.equal(c.livenessProbe.httpGet.path, '/healthz');
  t.equal(c.readinessProbe.httpGet.scheme, 'HTTPS');
  const containerPort = c.ports.find((p) => p.name === port.targetPort || p.containerPort === port.targetPort);
  t.ok(containerPort, 'the Service targets the container port');
  t.ok(c.args.includes(`--port=${containerPort.containerPort}`), 'which the webhook listens on');
  const tls = pod.volumes.find((v) => v.secret);
  t.equal(tls.secret.secretName, cert.spec.secretName, 'mounts the secret the Certificate writes');
  const mount = c.volumeMounts.find((m) => m.name === tls.name);
  t.ok(c.args.includes(`--tls-cert=${mount.mountPath}/tls.crt`) && c.args.includes(`--tls-key=${mount.mountPath}/tls.key`));
  t.notOk(find('Namespace', deploy.metadata.namespace).metadata.labels?.['podshm.io/inject'], 'its own namespace is not opted in');
});

t.test('the sidecar pod shares /dev/shm by itself, so the webhook leaves it alone', async (t) => {
  const pod = find('Pod', 'podshm-sidecar');
  const vol = pod.spec.volumes.find((v) => v.emptyDir?.medium === 'Memory');
  t.ok(vol, 'a Memory emptyDir');
  for (const c of pod.spec.containers) {
    t.ok(c.volumeMounts.some((m) => m.name === vol.name && m.mountPath === '/dev/shm'), `${c.name} mounts it at /dev/shm`);
  }
  t.same(pod.spec.containers.map((c) => c.command.at(-1)).sort(), ['consumer.js', 'producer.js']);
  const m = mutatePod(pod);
  t.same(m.patch, []);
  t.match(m.warnings, [/already mounts \/dev\/shm/]);
});

t.test('the demo Deployment gets /dev/shm from the webhook', async (t) => {
  const deploy = find('Deployment', 'demo');
  t.equal(find('Namespace', deploy.metadata.namespace).metadata.labels['podshm.io/inject'], 'enabled');
  // The pod the ReplicaSet would create, as the webhook sees it.
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { ...deploy.spec.template.metadata, generateName: 'demo-6d5f-', namespace: deploy.metadata.namespace }, spec: deploy.spec.template.spec };
  const input = JSON.parse(review);
  input.request.object = pod;
  const res = reviewAdmission(input);
  const patch = JSON.parse(Buffer.from(res.review.response.patch, 'base64').toString());
  const after = jsonpatch.applyPatch(structuredClone(pod), patch, true).newDocument;
  t.doesNotThrow(() => new Pod(after).validate());
  t.same(after.spec.volumes, [{ name: 'podshm-shm', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } }], 'half of the smaller limit (128Mi)');
  for (const c of after.spec.containers) t.same(c.volumeMounts, [{ name: 'podshm-shm', mountPath: '/dev/shm' }], c.name);
});

t.test('self-signed-cert.sh makes certificates the webhook serves and a client verifies by Service name', { skip: !hasOpenssl && 'openssl is not installed' }, async (t) => {
  const dir = tempDir(t);
  const { stdout } = await promisify(execFile)('bash', [join(root, 'examples/k8s/self-signed-cert.sh'), '--out', dir], { timeout: 30_000 });
  t.match(stdout, /wrote .*tls\.crt.* for podshm-webhook\.podshm-system\.svc/);
  const caBundle = stdout.trim().split('\n').at(-1);
  const ca = readFileSync(join(dir, 'ca.crt'));
  t.equal(Buffer.from(caBundle, 'base64').toString(), ca.toString(), 'prints the caBundle');
  // Start it with the Deployment's own arguments (port and paths swapped for the test's).
  const args = find('Deployment', 'podshm-webhook').spec.template.spec.containers[0].args
    .filter((a) => a !== 'webhook' && !/^--(port|tls-cert|tls-key)=/.test(a));
  const w = await startWebhook(t, dir, args);
  const res = await new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: w.port, method: 'POST', path: '/mutate', ca, servername: 'podshm-webhook.podshm-system.svc', agent: false, headers: json }, (r) => {
      let body = '';
      r.on('data', (d) => (body += d));
      r.on('end', () => resolve({ status: r.statusCode, body }));
    });
    req.on('error', reject);
    req.end(review);
  });
  t.equal(res.status, 200, 'verified against ca.crt as podshm-webhook.podshm-system.svc');
  t.equal(JSON.parse(res.body).response.allowed, true);
  w.child.kill('SIGTERM');
  t.equal((await w.exited).code, 0);
});

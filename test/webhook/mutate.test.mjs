// The mutation, table-driven over AdmissionReviews shaped like the API server's: every
// returned patch is applied with a real JSON Patch library and the result validated
// against the Kubernetes Pod schema (kubernetes-models ships it).
import t from 'tap';
import { readFileSync } from 'node:fs';
import jsonpatch from 'fast-json-patch';
import { Pod } from 'kubernetes-models/v1/Pod';
import { mutatePod, parseQuantity, reviewAdmission } from 'podshm/webhook';
import { fixture } from '../helpers.mjs';

const deploymentReview = JSON.parse(readFileSync(fixture('webhook-review-deployment.json'), 'utf8'));

/** An AdmissionReview for a pod, with the envelope the API server sends. */
function review(pod, request = {}) {
  return {
    kind: 'AdmissionReview',
    apiVersion: 'admission.k8s.io/v1',
    request: {
      uid: `uid-${Math.random().toString(36).slice(2)}`,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      requestKind: { group: '', version: 'v1', kind: 'Pod' },
      requestResource: { group: '', version: 'v1', resource: 'pods' },
      namespace: 'team-a',
      operation: 'CREATE',
      userInfo: { username: 'alice', groups: ['system:authenticated'] },
      object: pod,
      oldObject: null,
      dryRun: false,
      options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' },
      ...request,
    },
  };
}

const container = (name, memory, extra = {}) => ({
  name,
  image: `registry.example.com/${name}:1`,
  ...(memory === undefined ? {} : { resources: { limits: { memory } } }),
  terminationMessagePath: '/dev/termination-log',
  terminationMessagePolicy: 'File',
  imagePullPolicy: 'IfNotPresent',
  ...extra,
});

const pod = (containers, { initContainers, volumes, annotations, name, resources } = {}) => ({
  kind: 'Pod',
  apiVersion: 'v1',
  metadata: {
    ...(name ? { name } : { generateName: 'web-5d8f7b9c4-' }),
    namespace: 'team-a',
    labels: { app: 'web' },
    ...(annotations ? { annotations } : {}),
  },
  spec: {
    ...(volumes ? { volumes } : {}),
    ...(initContainers ? { initContainers } : {}),
    containers,
    ...(resources ? { resources } : {}),
    restartPolicy: 'Always',
    dnsPolicy: 'ClusterFirst',
    automountServiceAccountToken: false,
    serviceAccountName: 'default',
    schedulerName: 'default-scheduler',
    enableServiceLinks: true,
  },
  status: {},
});

const tokenVolume = { name: 'kube-api-access-abcde', projected: { sources: [{ serviceAccountToken: { path: 'token', expirationSeconds: 3607 } }], defaultMode: 420 } };
const tokenMount = { name: 'kube-api-access-abcde', readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' };
const shmMount = { name: 'own-shm', mountPath: '/dev/shm' };
const sidecar = (name, memory, extra) => container(name, memory, { restartPolicy: 'Always', ...extra });

// Patched: [name, review, options, expected sizeLimit, containers that get /dev/shm, warnings (regexps)]
const patched = [
  ['Deployment pod: generateName, token volume, init + sidecar, limits Gi/Mi/G', deploymentReview, {}, '384Mi', ['app', 'exporter', 'collector'], []],
  ['bare pod with a name, no volumes, no mounts, limit in M', review(pod([container('app', '512M')], { name: 'solo' })), {}, '244Mi', ['app'], []],
  ['limit in plain bytes', review(pod([container('app', '536870912')])), {}, '256Mi', ['app'], []],
  ['limit as an exponent', review(pod([container('app', '1e9')])), {}, '476Mi', ['app'], []],
  ['limit in Gi and Mi, smallest wins', review(pod([container('app', '1Gi'), container('side', '100Mi')])), {}, '50Mi', ['app', 'side'], []],
  ['limits in G and M', review(pod([container('app', '2G'), container('side', '600M')])), {}, '286Mi', ['app', 'side'], []],
  ['decimal fraction', review(pod([container('app', '1.5Gi')])), {}, '768Mi', ['app'], []],
  [
    'existing volumes and mounts are kept',
    review(pod([container('app', '256Mi', { volumeMounts: [tokenMount] }), container('log', '128Mi')], { volumes: [tokenVolume] })),
    {},
    '64Mi',
    ['app', 'log'],
    [],
  ],
  [
    'a container without a limit does not count',
    review(pod([container('app', '1Gi'), container('nolimit', undefined)])),
    {},
    '512Mi',
    ['app', 'nolimit'],
    [],
  ],
  [
    'regular init containers neither count nor get /dev/shm',
    review(pod([container('app', '1Gi')], { initContainers: [container('setup', '64Mi'), sidecar('proxy', '512Mi')] })),
    {},
    '256Mi',
    ['app', 'proxy'],
    [],
  ],
  ['ratio option', review(pod([container('app', '1Gi')])), { ratio: 0.25 }, '256Mi', ['app'], []],
  ['no limit anywhere, default limit', review(pod([container('app')])), { defaultLimit: '64Mi' }, '32Mi', ['app'], []],
  ['default limit is not used when a container has one', review(pod([container('app', '1Gi')])), { defaultLimit: '64Mi' }, '512Mi', ['app'], []],
  ['ratio annotation', review(pod([container('app', '1Gi')], { annotations: { 'podshm.io/shm-ratio': '0.75' } })), {}, '768Mi', ['app'], []],
  ['size annotation', review(pod([container('app', '1Gi')], { annotations: { 'podshm.io/shm-size': '300Mi' } })), {}, '300Mi', ['app'], []],
  ['size annotation rounds up to whole MiB', review(pod([container('app', '1Gi')], { annotations: { 'podshm.io/shm-size': '100M' } })), {}, '96Mi', ['app'], []],
  [
    'size annotation wins over ratio, with a warning',
    review(pod([container('app', '1Gi')], { annotations: { 'podshm.io/shm-size': '128Mi', 'podshm.io/shm-ratio': '0.9' } })),
    {},
    '128Mi',
    ['app'],
    [/shm-ratio ignored/],
  ],
  [
    'size annotation above the smallest limit: applied, with a warning',
    review(pod([container('app', '1Gi'), container('tiny', '256Mi')], { annotations: { 'podshm.io/shm-size': '512Mi' } })),
    {},
    '512Mi',
    ['app', 'tiny'],
    [/512Mi exceeds the 256Mi limit of container tiny/],
  ],
  [
    'null lists, as a hand-written client might send, are replaced',
    review({ ...pod([container('app', '1Gi', { volumeMounts: null })]), spec: { ...pod([container('app', '1Gi', { volumeMounts: null })]).spec, volumes: null } }),
    {},
    '512Mi',
    ['app'],
    [],
  ],
  ['tiny limit still gets 1Mi', review(pod([container('app', '1Mi')])), {}, '1Mi', ['app'], []],
  ['pod-level memory limit counts', review(pod([container('app', '1Gi')], { resources: { limits: { memory: '256Mi' } } })), {}, '128Mi', ['app'], []],
  [
    'existing annotations are kept',
    review(pod([container('app', '1Gi')], { annotations: { 'example.com/team': 'a', 'podshm.io/inject': 'true' } })),
    {},
    '512Mi',
    ['app'],
    [],
  ],
  [
    'a mount under /dev/shm is not a mount of /dev/shm',
    review(pod([container('app', '1Gi', { volumeMounts: [{ name: 'cfg', mountPath: '/dev/shm-config' }] })], { volumes: [{ name: 'cfg', emptyDir: {} }] })),
    {},
    '512Mi',
    ['app'],
    [],
  ],
];

// Left alone: [name, review, options, warning (regexp or null)]
const untouched = [
  ['opted out', review(pod([container('app', '1Gi')], { annotations: { 'podshm.io/inject': 'false' } })), {}, null],
  ['a container already mounts /dev/shm', review(pod([container('app', '1Gi'), container('side', '1Gi', { volumeMounts: [shmMount] })], { volumes: [{ name: 'own-shm', emptyDir: { medium: 'Memory' } }] })), {}, /container side already mounts \/dev\/shm/],
  ['a trailing slash is the same path', review(pod([container('app', '1Gi', { volumeMounts: [{ name: 'own-shm', mountPath: '/dev/shm/' }] })], { volumes: [{ name: 'own-shm', emptyDir: {} }] })), {}, /already mounts/],
  ['an init container already mounts /dev/shm', review(pod([container('app', '1Gi')], { initContainers: [container('setup', '64Mi', { volumeMounts: [shmMount] })], volumes: [{ name: 'own-shm', emptyDir: {} }] })), {}, /setup already mounts/],
  ['no limit and no default', review(pod([container('app'), container('side')])), {}, /no container has a memory limit and no default/],
  ['only a regular init container has a limit', review(pod([container('app')], { initContainers: [container('setup', '64Mi')] })), {}, /no container has a memory limit/],
  ['a volume by our name exists', review(pod([container('app', '1Gi')], { volumes: [{ name: 'podshm-shm', emptyDir: {} }] })), {}, /already has a volume named podshm-shm/],
  ['ratio annotation above 1', review(pod([container('app', '1Gi')], { annotations: { 'podshm.io/shm-ratio': '2' } })), {}, /shm-ratio="2" is not a number in \(0, 1\]/],
  ['ratio annotation zero', review(pod([container('app', '1Gi')], { annotations: { 'podshm.io/shm-ratio': '0' } })), {}, /shm-ratio/],
  ['ratio annotation not a number', review(pod([container('app', '1Gi')], { annotations: { 'podshm.io/shm-ratio': 'half' } })), {}, /shm-ratio/],
  ['ratio annotation in hex', review(pod([container('app', '1Gi')], { annotations: { 'podshm.io/shm-ratio': '0x1' } })), {}, /shm-ratio/],
  ['ratio annotation empty', review(pod([container('app', '1Gi')], { annotations: { 'podshm.io/shm-ratio': '' } })), {}, /shm-ratio/],
  ['size annotation garbage', review(pod([container('app', '1Gi')], { annotations: { 'podshm.io/shm-size': 'lots' } })), {}, /shm-size="lots" is not a quantity/],
  ['size annotation with uppercase K', review(pod([container('app', '1Gi')], { annotations: { 'podshm.io/shm-size': '1024K' } })), {}, /is not a quantity/],
  ['size annotation under 1Mi', review(pod([container('app', '1Gi')], { annotations: { 'podshm.io/shm-size': '1Ki' } })), {}, /under 1Mi/],
  ['an unparsable limit', review(pod([container('app', 'plenty')])), {}, /memory limit "plenty" of container app is not a quantity/],
];

/** A list that was missing (or null) before we added it. */
function restore(obj, original, key) {
  if (original[key] === undefined) delete obj[key];
  else obj[key] = original[key];
}

/** Our additions taken out again (and the lists we created), to compare with the original. */
function strip(doc, original) {
  const out = structuredClone(doc);
  out.spec.volumes = out.spec.volumes.filter((v) => v.name !== 'podshm-shm');
  if (original.spec.volumes == null) restore(out.spec, original.spec, 'volumes');
  for (const key of ['containers', 'initContainers']) {
    (out.spec[key] ?? []).forEach((c, i) => {
      if (!c.volumeMounts) return;
      c.volumeMounts = c.volumeMounts.filter((m) => m.name !== 'podshm-shm');
      if (original.spec[key][i].volumeMounts == null) restore(c, original.spec[key][i], 'volumeMounts');
    });
  }
  delete out.metadata.annotations['podshm.io/injected'];
  if (!original.metadata.annotations) delete out.metadata.annotations;
  return out;
}

function checkWarnings(t, warnings) {
  for (const w of warnings ?? []) {
    t.ok(w.length <= 120 && !/[\r\n]/.test(w), `warning fits one kubectl line: ${w}`);
  }
}

t.test('patched pods', async (t) => {
  for (const [name, input, options, sizeLimit, mounted, warnings] of patched) {
    t.test(name, async (t) => {
      const result = reviewAdmission(input, options);
      t.ok(result.ok, 'answered');
      const { response } = result.review;
      t.same(result.review.apiVersion, 'admission.k8s.io/v1');
      t.same(result.review.kind, 'AdmissionReview');
      t.equal(response.uid, input.request.uid, 'echoes the uid');
      t.equal(response.allowed, true);
      t.equal(response.patchType, 'JSONPatch');
      const patch = JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8'));

      const original = input.request.object;
      const before = structuredClone(original);
      t.equal(jsonpatch.validate(patch, before), undefined, 'the patch is valid against the pod');
      const after = jsonpatch.applyPatch(before, patch, true, false).newDocument;
      t.same(original, structuredClone(input.request.object), 'the input is not modified');

      t.doesNotThrow(() => new Pod(after).validate(), 'the patched pod validates against the Pod schema');
      const ours = after.spec.volumes.filter((v) => v.name === 'podshm-shm');
      t.same(ours, [{ name: 'podshm-shm', emptyDir: { medium: 'Memory', sizeLimit } }], `one Memory emptyDir of ${sizeLimit}`);
      t.equal(after.metadata.annotations['podshm.io/injected'], sizeLimit, 'annotated (key with a "/" escaped as ~1)');

      const all = [...after.spec.containers, ...(after.spec.initContainers ?? [])];
      const withShm = all.filter((c) => (c.volumeMounts ?? []).some((m) => m.mountPath === '/dev/shm'));
      t.same(withShm.map((c) => c.name).sort(), [...mounted].sort(), 'mounted in every container and sidecar, nowhere else');
      for (const c of withShm) {
        t.same(c.volumeMounts.filter((m) => m.mountPath === '/dev/shm'), [{ name: 'podshm-shm', mountPath: '/dev/shm' }], `${c.name}: one mount`);
      }
      t.same(strip(after, original), original, 'nothing else changed');

      t.equal((response.warnings ?? []).length, warnings.length, 'warnings');
      warnings.forEach((re, i) => t.match(response.warnings[i], re));
      checkWarnings(t, response.warnings);
      t.equal(result.log.result, 'patched');
      t.equal(result.log.sizeLimit, sizeLimit);
    });
  }
});

t.test('pods left alone', async (t) => {
  for (const [name, input, options, warning] of untouched) {
    t.test(name, async (t) => {
      const result = reviewAdmission(input, options);
      t.ok(result.ok);
      const { response } = result.review;
      t.equal(response.uid, input.request.uid);
      t.equal(response.allowed, true);
      t.equal(response.patch, undefined, 'no patch');
      t.equal(response.patchType, undefined, 'no patchType');
      if (warning === null) t.equal(response.warnings, undefined, 'no warning');
      else t.match(response.warnings, [warning]);
      checkWarnings(t, response.warnings);
      t.equal(result.log.result, 'skipped');
    });
  }
});

t.test('a 50% sizeLimit of the smallest limit, as the issue asks', async (t) => {
  // 2Gi app, 768Mi exporter, 1G sidecar, 128Mi regular init: the smallest that shares is 768Mi.
  const m = mutatePod(deploymentReview.request.object);
  t.equal(m.sizeLimit, '384Mi');
  // The same pod with the exporter's limit changed: the sizeLimit follows the smallest.
  const exporter = deploymentReview.request.object.spec.containers.find((c) => c.resources?.limits?.memory === '768Mi');
  t.ok(exporter, 'the review has the 768Mi container');
  for (const [limit, want] of [['900Mi', '450Mi'], ['300Mi', '150Mi'], ['4Gi', '476Mi']]) {
    const copy = structuredClone(deploymentReview.request.object);
    copy.spec.containers.find((c) => c.name === exporter.name).resources.limits.memory = limit;
    t.equal(mutatePod(copy).sizeLimit, want, `exporter at ${limit}: half of the smallest limit that shares (the 1G sidecar's, above it), in whole MiB`);
  }
});

t.test('long container names still give short warnings', async (t) => {
  const long = 'c'.repeat(63);
  const cases = [
    pod([container(long, '1Gi', { volumeMounts: [shmMount] })], { volumes: [{ name: 'own-shm', emptyDir: {} }] }),
    pod([container(long, '1023Ti')], { annotations: { 'podshm.io/shm-size': '1000000Ti' } }),
    pod([container(long, '1e31')]),
  ];
  for (const p of cases) {
    const m = mutatePod(p);
    t.ok(m.warnings.length > 0);
    checkWarnings(t, m.warnings);
  }
});

t.test('absurd sizes and hostile values: no patch that could not be applied, and no throw', async (t) => {
  // A MiB count from 1e21 printed as 9.5e+23Mi, a sizeLimit no quantity parser reads.
  for (const [p, bytes] of [
    [pod([container('app', '1Gi')], { annotations: { 'podshm.io/shm-size': '1e30' } }), 1e30],
    [pod([container('app', '1e28')]), 1e28 / 2],
  ]) {
    const m = mutatePod(p);
    t.match(m.sizeLimit, /^\d+Mi$/, `whole digits: ${m.sizeLimit}`);
    t.ok(Math.abs(parseQuantity(m.sizeLimit) / bytes - 1) < 1e-9, 'and a quantity again, of the size asked');
    checkWarnings(t, m.warnings);
  }
  // Objects where strings belong: String() of {"toString": 1} throws.
  // A name that is no string does not matter to the patch: patched like any 1Gi container.
  const hostile = container('app', '1Gi');
  hostile.name = { toString: 1 };
  const named = pod([hostile]);
  const m = mutatePod(named);
  t.equal(m.sizeLimit, '512Mi');
  t.same(m.warnings, []);
  t.same(jsonpatch.applyPatch(structuredClone(named), m.patch, true).newDocument.spec.volumes, [{ name: 'podshm-shm', emptyDir: { medium: 'Memory', sizeLimit: '512Mi' } }], 'and the patch applies');
  // A limit that is no string: the pod is left alone, with a warning.
  const badLimit = container('app', '1Gi');
  badLimit.resources.limits.memory = { toString: 1 };
  const left = mutatePod(pod([badLimit]));
  t.same(left.patch, [], 'left alone');
  t.equal(left.sizeLimit, null);
  t.match(left.warnings, [/memory limit .* of container app is not a quantity; \/dev\/shm left as it is/], 'with a warning');
  checkWarnings(t, left.warnings);
  for (const extra of [{ subResource: { toString: 1 } }, { operation: { toString: 1 } }]) {
    const r = reviewAdmission(review(pod([container('app', '1Gi')]), extra));
    t.ok(r.ok);
    t.equal(r.review.response.allowed, true);
    t.equal(r.review.response.patch, undefined);
  }
});

t.test('reviews that are not pod creations are allowed unchanged', async (t) => {
  const p = pod([container('app', '1Gi')]);
  const cases = [
    ['a Deployment', review({ kind: 'Deployment' }, { kind: { group: 'apps', version: 'v1', kind: 'Deployment' }, resource: { group: 'apps', version: 'v1', resource: 'deployments' } })],
    ['an UPDATE', review(p, { operation: 'UPDATE', oldObject: p })],
    ['a DELETE', review(null, { operation: 'DELETE', oldObject: p })],
    ['a subresource', review(p, { subResource: 'ephemeralcontainers', operation: 'UPDATE' })],
    ['no object', review(undefined)],
    ['an object that is not a pod', review({ spec: 'nonsense' })],
    ['containers not a list', review({ metadata: {}, spec: { containers: { app: {} } } })],
    ['a container that is not an object', review({ metadata: {}, spec: { containers: ['app'] } })],
    ['volumeMounts not a list', review({ metadata: {}, spec: { containers: [container('app', '1Gi', { volumeMounts: { a: 1 } })] } })],
    ['volumes not a list', review({ metadata: {}, spec: { volumes: 'x', containers: [container('app', '1Gi')] } })],
    ['a dry run is still answered', review(pod([container('app', '1Gi')], { annotations: { 'podshm.io/inject': 'false' } }), { dryRun: true })],
  ];
  for (const [name, input] of cases) {
    const result = reviewAdmission(input);
    t.ok(result.ok, name);
    t.same(result.review.response.uid, input.request.uid, `${name}: uid`);
    t.equal(result.review.response.allowed, true, `${name}: allowed`);
    t.equal(result.review.response.patch, undefined, `${name}: no patch`);
  }
});

t.test('reviews without a uid to answer are refused', async (t) => {
  const good = review(pod([container('app', '1Gi')]));
  const cases = [
    null,
    [],
    'AdmissionReview',
    {},
    { ...good, apiVersion: 'admission.k8s.io/v1beta1' },
    { ...good, kind: 'Pod' },
    { ...good, request: undefined },
    { ...good, request: { ...good.request, uid: undefined } },
    { ...good, request: { ...good.request, uid: '' } },
    { ...good, request: { ...good.request, uid: 42 } },
  ];
  for (const input of cases) {
    const result = reviewAdmission(input);
    t.equal(result.ok, false, JSON.stringify(input)?.slice(0, 60));
    t.type(result.error, 'string');
  }
});

t.test('bad options are refused up front', async (t) => {
  const p = pod([container('app', '1Gi')]);
  for (const ratio of [0, -0.5, 1.5, NaN, '0.5']) t.throws(() => mutatePod(p, { ratio }), { code: 'ERR_OUT_OF_RANGE' }, `ratio ${ratio}`);
  for (const defaultLimit of ['64', '1K', 'x']) t.throws(() => mutatePod(p, { defaultLimit }), { code: 'ERR_OUT_OF_RANGE' }, `defaultLimit ${defaultLimit}`);
  t.equal(mutatePod(p, { ratio: 1 }).sizeLimit, '1024Mi');
});

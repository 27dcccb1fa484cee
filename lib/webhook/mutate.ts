// The pure half of the webhook: a Pod in, a JSON Patch (RFC 6902) and warnings out.
// No I/O, so platform teams can run the same decision in their own admission code.
import { argValue } from '../core/errors';
import { options as checkedOptions } from '../core/validate';
import { MiB, formatMiB, parseQuantity } from './quantity';

export const SHM_PATH = '/dev/shm';
/** The name of the volume we add; a pod that already has one by this name is left alone. */
export const VOLUME_NAME = 'podshm-shm';
export const ANNOTATIONS = {
  /** An explicit sizeLimit ("256Mi"); wins over the ratio. */
  size: 'podshm.io/shm-size',
  /** A ratio of the smallest memory limit, in (0, 1]. */
  ratio: 'podshm.io/shm-ratio',
  /** "false" leaves the pod alone. */
  inject: 'podshm.io/inject',
  /** Set by us on the pods we patch: the sizeLimit we chose. */
  injected: 'podshm.io/injected',
} as const;

export interface MutateOptions {
  /** sizeLimit = ratio x the smallest memory limit; default 0.5 (docs/design.md, "Kubernetes"). */
  ratio?: number;
  /** Memory limit assumed when no container has one ("64Mi", or bytes); default none. */
  defaultLimit?: string | number;
}

export interface JsonPatchOperation {
  op: 'add';
  path: string;
  value: unknown;
}

export interface Mutation {
  /** Empty when the pod is left alone. */
  patch: JsonPatchOperation[];
  /** For the AdmissionResponse: short lines, shown by kubectl. */
  warnings: string[];
  /** The sizeLimit we set ("512Mi"), or null when the pod is left alone. */
  sizeLimit: string | null;
  /** Why, in a few words, for the logs. */
  reason: string;
}

type Json = Record<string, unknown>;

interface Limit {
  bytes: number;
  /** "container app", "the pod" or "default". */
  name: string;
  /** As written, for messages. */
  quantity: string;
}

interface Target {
  /** JSON Pointer of the container, e.g. /spec/initContainers/0. */
  pointer: string;
  name: string;
  container: Json;
}

export const DEFAULT_RATIO = 0.5;

/** Checks the options once (the CLI calls this at start-up, so bad flags fail early). */
export function mutateOptions(opts?: MutateOptions): { ratio: number; defaultLimit: number | null } {
  const options = checkedOptions<MutateOptions>(opts, ['ratio', 'defaultLimit']);
  const ratio = options.ratio ?? DEFAULT_RATIO;
  if (typeof ratio !== 'number' || !(ratio > 0 && ratio <= 1)) {
    throw argValue('ratio', 'must be a number > 0 and <= 1', ratio);
  }
  const defaultLimit = options.defaultLimit === undefined ? null : parseQuantity(options.defaultLimit, 'defaultLimit');
  if (defaultLimit !== null && defaultLimit < MiB) throw argValue('defaultLimit', 'must be at least 1Mi', options.defaultLimit);
  return { ratio, defaultLimit };
}

/**
 * Decides what to do with a Pod: mount a Memory emptyDir at /dev/shm in every container
 * and every sidecar init container (restartPolicy: Always), sized to a ratio of the
 * smallest memory limit among them, since tmpfs pages are charged to whichever container
 * writes them. Never throws on a strange pod: it is left alone with a warning instead.
 */
export function mutatePod(pod: unknown, opts?: MutateOptions): Mutation {
  const options = checkedOptions<MutateOptions>(opts, ['ratio', 'defaultLimit']);
  const { ratio, defaultLimit } = mutateOptions(options);
  if (!isObject(pod) || !isObject(pod.spec) || !Array.isArray(pod.spec.containers)) {
    return skip('not a pod', 'podshm: the object has no spec.containers; /dev/shm left as it is');
  }
  const spec = pod.spec;
  const metadata = isObject(pod.metadata) ? pod.metadata : {};
  const annotations = isObject(metadata.annotations) ? metadata.annotations : {};

  if (annotations[ANNOTATIONS.inject] === 'false') return skip('opted out', null);

  const all = [...entries(spec.containers, '/spec/containers'), ...entries(spec.initContainers, '/spec/initContainers')];
  if (all.some((t) => t === null)) return skip('malformed containers', 'podshm: a container is not an object; /dev/shm left as it is');
  const containers = all as Target[];
  const owner = containers.find((t) => mountsShm(t.container));
  if (owner) {
    return skip('already mounts /dev/shm', `podshm: container ${owner.name} already mounts ${SHM_PATH}; left as it is`);
  }
  const volumes = spec.volumes ?? [];
  if (!Array.isArray(volumes)) return skip('malformed volumes', 'podshm: spec.volumes is not a list; /dev/shm left as it is');
  if (containers.some((t) => !Array.isArray(t.container.volumeMounts ?? []))) {
    return skip('malformed volumeMounts', 'podshm: a container\'s volumeMounts is not a list; /dev/shm left as it is');
  }
  if (volumes.some((v) => isObject(v) && v.name === VOLUME_NAME)) {
    // Ours from an earlier pass, or the pod's own: either way not ours to change.
    return skip('volume name taken', `podshm: the pod already has a volume named ${VOLUME_NAME}; /dev/shm left as it is`);
  }

  // Regular init containers run alone before the others and do not share /dev/shm with them.
  const targets = containers.filter((t) => t.pointer.startsWith('/spec/containers/') || t.container.restartPolicy === 'Always');
  const warnings: string[] = [];
  const smallest = smallestLimit(targets, spec, warnings);
  if (smallest === undefined) return { patch: [], warnings, sizeLimit: null, reason: 'bad memory limit' };

  let bytes: number;
  let reason: string;
  const explicit = annotations[ANNOTATIONS.size];
  const ratioAnnotation = annotations[ANNOTATIONS.ratio];
  if (explicit !== undefined) {
    let size: number;
    try {
      size = parseQuantity(explicit, ANNOTATIONS.size);
    } catch {
      return skip('bad annotation', `podshm: ${ANNOTATIONS.size}=${show(explicit)} is not a quantity; /dev/shm left as it is`);
    }
    if (size < MiB) return skip('bad annotation', `podshm: ${ANNOTATIONS.size}=${show(explicit)} is under 1Mi; /dev/shm left as it is`);
    if (ratioAnnotation !== undefined) warnings.push(warning(`podshm: ${ANNOTATIONS.ratio} ignored: ${ANNOTATIONS.size} is set`));
    // An explicit size is a floor the user asked for: round up to whole MiB.
    bytes = Math.ceil(size / MiB) * MiB;
    reason = `annotation ${ANNOTATIONS.size}`;
    if (smallest && bytes > smallest.bytes) {
      warnings.push(warning(`podshm: shm-size ${formatMiB(bytes)} exceeds the ${smallest.quantity} limit of ${smallest.name}: writes may OOM-kill it`));
    }
  } else {
    let r = ratio;
    if (ratioAnnotation !== undefined) {
      r = typeof ratioAnnotation === 'string' && /^(?:\d+\.?\d*|\.\d+)$/.test(ratioAnnotation) ? Number(ratioAnnotation) : NaN;
      if (!(r > 0 && r <= 1)) {
        return skip('bad annotation', `podshm: ${ANNOTATIONS.ratio}=${show(ratioAnnotation)} is not a number in (0, 1]; /dev/shm left as it is`);
      }
    }
    const limit = smallest ?? (defaultLimit === null ? null : { bytes: defaultLimit, name: 'default', quantity: String(options.defaultLimit) });
    if (limit === null) {
      return skip('no memory limit', 'podshm: no container has a memory limit and no default is set; /dev/shm left as it is');
    }
    // Round down, so the writer's limit keeps its share; 1Mi at least.
    bytes = Math.max(MiB, Math.floor((r * limit.bytes) / MiB) * MiB);
    reason = `${r} x ${limit.quantity} limit (${limit.name})`;
  }

  const sizeLimit = formatMiB(bytes);
  const patch: JsonPatchOperation[] = [];
  const volume = { name: VOLUME_NAME, emptyDir: { medium: 'Memory', sizeLimit } };
  // A missing (or null) list is added whole: "add" on an existing member replaces it.
  patch.push(spec.volumes == null ? { op: 'add', path: '/spec/volumes', value: [volume] } : { op: 'add', path: '/spec/volumes/-', value: volume });
  for (const t of targets) {
    const mount = { name: VOLUME_NAME, mountPath: SHM_PATH };
    patch.push(
      t.container.volumeMounts == null
        ? { op: 'add', path: `${t.pointer}/volumeMounts`, value: [mount] }
        : { op: 'add', path: `${t.pointer}/volumeMounts/-`, value: mount },
    );
  }
  patch.push(
    pod.metadata === undefined
      ? { op: 'add', path: '/metadata', value: { annotations: { [ANNOTATIONS.injected]: sizeLimit } } }
      : metadata.annotations == null
        ? { op: 'add', path: '/metadata/annotations', value: { [ANNOTATIONS.injected]: sizeLimit } }
        : { op: 'add', path: `/metadata/annotations/${pointerToken(ANNOTATIONS.injected)}`, value: sizeLimit },
  );
  return { patch, warnings, sizeLimit, reason };
}

/** RFC 6901: "~" becomes "~0" and "/" becomes "~1", in that order. */
function pointerToken(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

function skip(reason: string, text: string | null): Mutation {
  return { patch: [], warnings: text === null ? [] : [warning(text)], sizeLimit: null, reason };
}

// kubectl prints each warning on one line, and the API server may truncate long ones.
const WARNING_MAX = 120;

function warning(text: string): string {
  return text.length <= WARNING_MAX ? text : text.slice(0, WARNING_MAX - 1) + '…';
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function entries(list: unknown, pointer: string): (Target | null)[] {
  if (list === undefined) return [];
  if (!Array.isArray(list)) return [null];
  return list.map((c, i) => (isObject(c) ? { pointer: `${pointer}/${i}`, name: shortName(c.name), container: c } : null));
}

// Container names are DNS labels (up to 63 characters); keep messages short.
function shortName(name: unknown): string {
  const s = text(name);
  return s.length > 32 ? s.slice(0, 31) + '…' : s;
}

function mountsShm(container: Json): boolean {
  const mounts = container.volumeMounts;
  return Array.isArray(mounts) && mounts.some((m) => isObject(m) && typeof m.mountPath === 'string' && m.mountPath.replace(/\/+$/, '') === SHM_PATH);
}

/**
 * The smallest memory limit among the targets and the pod-level limit (spec.resources,
 * PodLevelResources), or null when there is none; undefined (with a warning) when a limit
 * is not a quantity, which the API server would not have let through.
 */
function smallestLimit(targets: Target[], spec: Json, warnings: string[]): Limit | null | undefined {
  const candidates: { name: string; owner: unknown }[] = targets.map((t) => ({ name: `container ${t.name}`, owner: t.container }));
  candidates.push({ name: 'the pod', owner: spec });
  let smallest: Limit | null = null;
  for (const { name, owner } of candidates) {
    const resources = isObject(owner) ? owner.resources : undefined;
    const limits = isObject(resources) ? resources.limits : undefined;
    const memory = isObject(limits) ? limits.memory : undefined;
    if (memory === undefined) continue;
    let bytes: number;
    try {
      bytes = parseQuantity(memory);
    } catch {
      warnings.push(warning(`podshm: memory limit ${show(memory)} of ${name} is not a quantity; /dev/shm left as it is`));
      return undefined;
    }
    if (smallest === null || bytes < smallest.bytes) smallest = { bytes, name, quantity: String(memory) };
  }
  return smallest;
}

/**
 * Any JSON value as text; String() would throw on an object such as {"toString": 1}, and
 * JSON.stringify on a value nested deeper than the stack (a RangeError).
 */
export function text(v: unknown): string {
  if (typeof v === 'string') return v;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return '(a value nested too deep to show)';
  }
}

function show(v: unknown): string {
  const s = text(v);
  return JSON.stringify(s.length > 24 ? s.slice(0, 24) + '…' : s);
}

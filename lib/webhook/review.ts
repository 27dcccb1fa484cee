// AdmissionReview v1 in, AdmissionReview v1 out: the envelope around mutatePod().
import { mutatePod, text, type MutateOptions } from './mutate';

export const REVIEW_API_VERSION = 'admission.k8s.io/v1';

export interface AdmissionResponse {
  uid: string;
  allowed: true;
  patchType?: 'JSONPatch';
  /** base64 of the JSON Patch. */
  patch?: string;
  warnings?: string[];
}

export interface AdmissionReviewResponse {
  apiVersion: typeof REVIEW_API_VERSION;
  kind: 'AdmissionReview';
  response: AdmissionResponse;
}

/** What one request came to: the review to send back, or why the body was refused. */
export type Review =
  | { ok: true; review: AdmissionReviewResponse; log: ReviewLog }
  | { ok: false; error: string };

export interface ReviewLog {
  uid: string;
  namespace?: string;
  pod?: string;
  operation?: string;
  dryRun?: boolean;
  result: 'patched' | 'skipped';
  reason: string;
  sizeLimit?: string;
  warnings?: number;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/**
 * Answers a parsed AdmissionReview. Refuses (ok: false, an HTTP 400) only what carries no
 * uid to answer to; anything else that is not a pod being created is allowed unchanged.
 * Every request is allowed: podshm only ever adds a volume, it never blocks a pod.
 */
export function reviewAdmission(body: unknown, options: MutateOptions = {}): Review {
  if (!isObject(body)) return { ok: false, error: 'the body is not a JSON object' };
  if (body.kind !== 'AdmissionReview' || body.apiVersion !== REVIEW_API_VERSION) {
    return { ok: false, error: `expected kind AdmissionReview, apiVersion ${REVIEW_API_VERSION}` };
  }
  const request = body.request;
  if (!isObject(request) || typeof request.uid !== 'string' || request.uid === '') {
    return { ok: false, error: 'request.uid is missing' };
  }
  const uid = request.uid;
  const object = isObject(request.object) ? request.object : undefined;
  const metadata = object && isObject(object.metadata) ? object.metadata : {};
  const generateName = str(metadata.generateName);
  const log: ReviewLog = {
    uid,
    namespace: str(request.namespace),
    pod: str(request.name) ?? str(metadata.name) ?? (generateName === undefined ? undefined : `${generateName}*`),
    operation: str(request.operation),
    dryRun: request.dryRun === true,
    result: 'skipped',
    reason: '',
  };
  const allow = (reason: string, extra: Partial<AdmissionResponse> = {}, logExtra: Partial<ReviewLog> = {}): Review => ({
    ok: true,
    review: { apiVersion: REVIEW_API_VERSION, kind: 'AdmissionReview', response: { uid, allowed: true, ...extra } },
    log: { ...log, reason, ...logExtra },
  });

  const kind = isObject(request.kind) ? request.kind : {};
  const resource = isObject(request.resource) ? request.resource : {};
  if (kind.group !== '' || kind.kind !== 'Pod' || resource.resource !== 'pods') return allow('not a pod');
  if (request.subResource !== undefined && request.subResource !== '') return allow(`subresource ${text(request.subResource)}`);
  if (request.operation !== 'CREATE') return allow(`operation ${text(request.operation)}`);
  if (object === undefined) return allow('no object');

  const m = mutatePod(object, options);
  const warnings = m.warnings.length > 0 ? { warnings: m.warnings } : {};
  if (m.patch.length === 0) return allow(m.reason, warnings, { warnings: m.warnings.length });
  return allow(
    m.reason,
    { patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(m.patch)).toString('base64'), ...warnings },
    { result: 'patched', sizeLimit: m.sizeLimit ?? undefined, warnings: m.warnings.length },
  );
}

// Whether this process runs in a Kubernetes pod, from what the kubelet puts into every
// container: the service environment variables and the service account mount.
import * as fs from 'node:fs';

export interface KubernetesInfo {
  detected: boolean;
  /** The pod's namespace, from the service account mount, when it is there. */
  namespace: string | null;
  /** What gave it away, e.g. 'KUBERNETES_SERVICE_HOST'. */
  evidence: string[];
}

const SERVICE_ACCOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';

export function detectKubernetes(env: NodeJS.ProcessEnv = process.env): KubernetesInfo {
  const evidence: string[] = [];
  if (env.KUBERNETES_SERVICE_HOST) evidence.push('KUBERNETES_SERVICE_HOST');
  let namespace: string | null = null;
  if (fs.existsSync(SERVICE_ACCOUNT)) {
    evidence.push(SERVICE_ACCOUNT);
    try {
      namespace = fs.readFileSync(`${SERVICE_ACCOUNT}/namespace`, 'utf8').trim() || null;
    } catch {
      // automountServiceAccountToken: false leaves no namespace file
    }
  }
  return { detected: evidence.length > 0, namespace, evidence };
}

// The names, labels, annotations and Secret keys the Kubernetes backend's objects share: what manifests.ts builds
// with, and what the rest of the backend reads back from the cluster. Pure.
import type { V1Toleration } from '@kubernetes/client-node';
import type { PullPolicy } from '../../../common/model';
import { UnprocessableError } from '../../errors';
import { LABELS, type EnvSpec } from '../../contract';

export const PULL_POLICY: Record<PullPolicy, 'Always' | 'IfNotPresent' | 'Never'> = {
  always: 'Always',
  'if-not-present': 'IfNotPresent',
  never: 'Never',
};
/** Set on the workload by the first start: replicas 0 then means "stopped", not "created". */
export const STARTED_ANNOTATION = 'dev.hangar/started';
/** Changed in the pod template by restart(); waitReady only accepts pods of the current value. */
export const RESTARTED_ANNOTATION = 'dev.hangar/restarted-at';
export const NETWORK_POLICY_NAME = 'hangar-gateway-only';
export const CONTAINER = 'env';
/** The Secret is mounted read-only here; the wrapper copies it into an in-memory emptyDir at /.hangar. */
export const BOOT_MOUNT = '/run/hangar/boot';
export const HOME_SIZE = '10Gi';
export const GPU_PRODUCT_LABEL = 'nvidia.com/gpu.product';

export type WorkloadKind = 'deployment' | 'statefulset' | 'job' | 'cronjob';
export const WORKLOAD_KINDS: readonly WorkloadKind[] = ['deployment', 'statefulset', 'job', 'cronjob'];
/** GPU pods tolerate this unless the backend configures gpu_tolerations (GPU nodes are commonly tainted so). */
export const DEFAULT_GPU_TOLERATIONS: V1Toleration[] = [
  { key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' },
];

export interface K8sOptions {
  gatewayId: string;
  backendId: string;
  namespacePrefix: string;
  imagePullSecrets: string[];
  storageClass?: string;
  /** The operator's Ceph CSI classes, sizes of claims that give none, the fsGroup of pods with claims. */
  ceph?: { cephfs_class?: string; rbd_class?: string };
  homeSizeGb?: number;
  volumeSizeGb?: number;
  fsGroup?: number;
  /** Added to pods that ask for GPUs. */
  gpuTolerations?: V1Toleration[];
  /** ssh_server agent: the image the agent's init container runs; pod_security restricted, as restricted_uid. */
  agentImage?: string;
  /** Datasets: the rclone image of the sync init containers (datasetSync.ts). */
  datasetSyncImage?: string;
  restricted?: boolean;
  restrictedUid?: number;
}

/** `<prefix>-<first 8 alphanumerics of the owner id>` (DNS-1123 label). */
export function namespaceFor(prefix: string, owner: string): string {
  const short =
    owner
      .toLowerCase()
      .replace(/[^a-z0-9]/g, '')
      .slice(0, 8) || 'user';
  return `${prefix}-${short}`.slice(0, 63).replace(/-+$/, '');
}

/** namespace_policy per-team: `<prefix>-team-<team>` (a team is a DNS-1123 label of at most 40). */
export function teamNamespace(prefix: string, team: string): string {
  return `${prefix}-team-${team}`.slice(0, 63).replace(/-+$/, '');
}

/** `<env name, cut to 40>-<first 8 of env id>`: ≤ 49 characters, so StatefulSet pod and PVC names stay legal. */
export function objectName(spec: Pick<EnvSpec, 'name' | 'envId'>): string {
  const name =
    spec.name
      .toLowerCase()
      .replace(/[^a-z0-9-]/g, '-')
      .slice(0, 40)
      .replace(/-+$/, '') || 'env';
  return `${name}-${spec.envId
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '')
    .slice(0, 8)}`;
}

export function workloadKind(spec: EnvSpec): WorkloadKind {
  const mode = spec.deploymentMode ?? 'k8s_pod';
  if (mode === 'k8s_pod') return 'deployment';
  if (mode === 'k8s_stateful') return 'statefulset';
  if (mode === 'k8s_job') return 'job';
  if (mode === 'k8s_cronjob') return 'cronjob';
  throw new UnprocessableError(
    `deployment_mode '${mode}' is not served by a Kubernetes backend (k8s_pod, k8s_stateful, k8s_job, k8s_cronjob)`,
  );
}

export function labelsFor(spec: EnvSpec, o: K8sOptions): Record<string, string> {
  return {
    [LABELS.managed]: 'true',
    [LABELS.gateway]: o.gatewayId,
    [LABELS.backend]: o.backendId,
    [LABELS.envId]: spec.envId,
    [LABELS.envName]: spec.name,
    [LABELS.owner]: spec.owner,
  };
}

/** The Secret's key and its file name under /.hangar. Only flat files under /.hangar are supported. */
export function bootKey(path: string): string {
  const m = /^\/\.hangar\/([A-Za-z0-9._-]+)$/.exec(path);
  if (!m || m[1] === '.' || m[1] === '..')
    throw new UnprocessableError(`boot file '${path}' is outside /.hangar: not supported on Kubernetes backends`);
  return m[1];
}

/** Secret key listing each file's mode (`<name> <octal>` per line): the copy at start applies them. A dot-key, so
 *  the `*` glob of the copy script leaves it out; new files need no change of the pod template (no items list). */
export const MODES_KEY = '.modes';

export function modesText(modes: Map<string, number>): string {
  return [...modes].map(([name, mode]) => `${name} ${mode.toString(8)}\n`).join('');
}

export function parseModes(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [name, mode] = line.trim().split(/\s+/);
    if (name && mode && /^[0-7]{1,4}$/.test(mode)) out.set(name, Number.parseInt(mode, 8));
  }
  return out;
}

/** On a per-team namespace (the per-user ones carry dev.hangar.owner), and on a team volume's claim. */
export const TEAM_LABEL = 'dev.hangar.team';

/** The name suffix of an exposed env's public Service and NetworkPolicy. */
export const PUBLIC_SUFFIX = '-public';

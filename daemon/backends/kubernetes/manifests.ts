// EnvSpec → Kubernetes objects. Pure (no API calls), so the mapping can be read and tested on its own.
//
// Per environment: a Secret with the boot files, a ClusterIP Service (22/8888/5901 + the env's ports), and a
// workload: a Deployment (k8s_pod) or a StatefulSet with a volumeClaimTemplate for /home (k8s_stateful), both
// created with 0 replicas (create ≠ start; start scales to 1), or a Job (k8s_job) / CronJob (k8s_cronjob) created
// suspended (start resumes) — unless the spec says startNow (a create the service starts at once: one controller
// pass instead of a create and then a scale-up). Per namespace: a NetworkPolicy. With network_config.expose: a second, public
// Service (NodePort/LoadBalancer) for SSH and the env's own ports, and a NetworkPolicy admitting those.
//
// Pod security: the bootstrap (/.hangar/init.sh) creates the login user and runs sshd as root, so the pod can't
// be runAsNonRoot. What it gets instead, as on Docker: seccomp RuntimeDefault, allowPrivilegeEscalation false
// (no_new_privs), privileged false, every capability dropped except sshd's set (SSHD_CAPABILITIES), no
// service-account token, no service links. Trade-off: root inside the container (with those capabilities) can
// still read/modify everything in its own filesystem and chown files; a namespace with Pod Security Admission
// level "restricted" will refuse these pods ("baseline" admits them).
import type {
  V1CronJob,
  V1Deployment,
  V1EnvVar,
  V1Job,
  V1NetworkPolicy,
  V1PodTemplateSpec,
  V1Secret,
  V1Service,
  V1StatefulSet,
  V1Toleration,
} from '@kubernetes/client-node';
import type { PullPolicy } from '../../../common/model';
import { UnprocessableError } from '../../errors';
import { JUPYTER_PORT, LABELS, RDP_PORT, SSH_PORT, SSHD_CAPABILITIES, VNC_PORT, type EnvSpec } from '../../contract';

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
  /** Added to pods that ask for GPUs. */
  gpuTolerations?: V1Toleration[];
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

export function bootSecret(spec: EnvSpec, o: K8sOptions, namespace: string): V1Secret {
  const data: Record<string, string> = {};
  const modes = new Map<string, number>();
  for (const f of spec.files) {
    data[bootKey(f.path)] = Buffer.from(f.content).toString('base64');
    modes.set(bootKey(f.path), f.mode);
  }
  data[MODES_KEY] = Buffer.from(modesText(modes)).toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: `${objectName(spec)}-boot`, namespace, labels: labelsFor(spec, o) },
    type: 'Opaque',
    data,
  };
}

/** Resource names and quantities for the env's GPUs. */
export function gpuResources(spec: EnvSpec): Record<string, string> {
  const g = spec.gpus;
  if (g.mode === 'none') return {};
  const count = String(Math.max(1, g.count || g.deviceIds.length));
  if (g.mode === 'mig') {
    if (!spec.gpuProfile)
      throw new UnprocessableError('gpu_mode mig on a Kubernetes backend needs gpu_mig_profile (e.g. 1g.10gb)');
    if (!/^[0-9a-z.+-]+$/.test(spec.gpuProfile))
      throw new UnprocessableError(`gpu_mig_profile '${spec.gpuProfile}' is not a MIG profile name`);
    return { [`nvidia.com/mig-${spec.gpuProfile}`]: count };
  }
  if (g.mode === 'vgpu') throw new UnprocessableError('gpu_mode vgpu needs a libvirt (vm) backend');
  // exclusive, and shared (time-slicing is the device plugin's configuration; the resource stays nvidia.com/gpu).
  return { 'nvidia.com/gpu': count };
}

/** How the pod is steered to the wanted model: one product → nodeSelector, several → node affinity (In). */
export interface Placement {
  nodeSelector?: Record<string, string>;
  products?: string[];
}

const COPY_BOOT_FILES = [
  'set -e',
  `cd ${BOOT_MOUNT}`,
  // Secret volumes are read-only and their entries are symlinks: copy each file to /.hangar, then give it its mode.
  'for f in *; do cp -L "$f" "/.hangar/$f"; done',
  `while read -r n m; do if [ -f "/.hangar/$n" ]; then chmod "$m" "/.hangar/$n"; fi; done < ${MODES_KEY}`,
  'exec "$@"',
].join('\n');

/** Plain values, then values from Secrets (secretKeyRef: the kubelet reads them; the daemon never sees them). */
export function envVars(spec: Pick<EnvSpec, 'env' | 'secretEnv'>): V1EnvVar[] {
  return [
    ...Object.entries(spec.env).map(([name, value]) => ({ name, value })),
    ...Object.entries(spec.secretEnv ?? {}).map(([name, r]) => ({
      name,
      valueFrom: { secretKeyRef: { name: r.secret, key: r.key } },
    })),
  ];
}

const isBatch = (kind: WorkloadKind) => kind === 'job' || kind === 'cronjob';

export function podTemplate(spec: EnvSpec, o: K8sOptions, placement: Placement, kind: WorkloadKind): V1PodTemplateSpec {
  if (spec.mounts.length)
    throw new UnprocessableError('storage_config mounts are not supported on Kubernetes backends yet');
  if (isBatch(kind) && !spec.runCommand?.length) throw new UnprocessableError(`a ${kind} needs a command to run`);
  const labels = labelsFor(spec, o);
  const gpus = gpuResources(spec);
  const limits: Record<string, string> = { ...gpus };
  if (spec.cpu) limits.cpu = String(spec.cpu);
  if (spec.memoryMb) limits.memory = `${spec.memoryMb}Mi`;
  const ports = new Map<number, string>([
    [SSH_PORT, 'ssh'],
    [JUPYTER_PORT, 'jupyter'],
    [VNC_PORT, 'vnc'],
  ]);
  for (const p of spec.ports)
    if (!ports.has(p.container_port) && (p.protocol ?? 'tcp') === 'tcp')
      ports.set(p.container_port, `p-${p.container_port}`);
  return {
    metadata: { labels, annotations: {} },
    spec: {
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      hostname: spec.name.slice(0, 63),
      terminationGracePeriodSeconds: 10,
      imagePullSecrets: o.imagePullSecrets.length ? o.imagePullSecrets.map((name) => ({ name })) : undefined,
      // A Job's pod runs once: a failure is reported (backoffLimit 0), not retried in place.
      restartPolicy: isBatch(kind) ? 'Never' : undefined,
      nodeSelector: placement.nodeSelector,
      tolerations: Object.keys(gpus).length ? (o.gpuTolerations ?? DEFAULT_GPU_TOLERATIONS) : undefined,
      affinity: placement.products?.length
        ? {
            nodeAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: {
                nodeSelectorTerms: [
                  { matchExpressions: [{ key: GPU_PRODUCT_LABEL, operator: 'In', values: placement.products }] },
                ],
              },
            },
          }
        : undefined,
      securityContext: { runAsNonRoot: false, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: CONTAINER,
          image: spec.image,
          imagePullPolicy: PULL_POLICY[spec.pullPolicy],
          command: [
            '/bin/sh',
            '-c',
            COPY_BOOT_FILES,
            'hangar-boot',
            ...(isBatch(kind) ? spec.runCommand! : spec.command),
          ],
          env: envVars(spec),
          ports: [...ports].map(([containerPort, name]) => ({ containerPort, name, protocol: 'TCP' })),
          resources: Object.keys(limits).length ? { limits, requests: { ...limits } } : undefined,
          securityContext: {
            privileged: false,
            allowPrivilegeEscalation: false,
            capabilities: { drop: ['ALL'], add: SSHD_CAPABILITIES },
            seccompProfile: { type: 'RuntimeDefault' },
          },
          // "Ready" = sshd answers (what "running" means for every backend); a batch pod runs its command instead.
          readinessProbe: isBatch(kind)
            ? undefined
            : { tcpSocket: { port: SSH_PORT }, periodSeconds: 2, failureThreshold: 3 },
          volumeMounts: [
            { name: 'hangar-boot', mountPath: BOOT_MOUNT, readOnly: true },
            { name: 'hangar', mountPath: '/.hangar' },
            ...(kind === 'statefulset' ? [{ name: 'home', mountPath: '/home' }] : []),
          ],
        },
      ],
      volumes: [
        { name: 'hangar-boot', secret: { secretName: `${objectName(spec)}-boot`, defaultMode: 0o400 } },
        // In memory: it holds the env's SSH host key.
        { name: 'hangar', emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } },
      ],
    },
  };
}

/** Created stopped (0 replicas / suspended) unless spec.startNow; STARTED_ANNOTATION marks a started one. */
const started = (spec: EnvSpec) => (spec.startNow ? { [STARTED_ANNOTATION]: 'true' } : undefined);

export function deployment(spec: EnvSpec, o: K8sOptions, namespace: string, placement: Placement): V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: objectName(spec), namespace, labels: labelsFor(spec, o), annotations: started(spec) },
    spec: {
      replicas: spec.startNow ? 1 : 0,
      // Recreate: a restart must not need a second set of GPUs for a surge pod.
      strategy: { type: 'Recreate' },
      selector: { matchLabels: { [LABELS.envId]: spec.envId } },
      template: podTemplate(spec, o, placement, 'deployment'),
    },
  };
}

export function statefulSet(spec: EnvSpec, o: K8sOptions, namespace: string, placement: Placement): V1StatefulSet {
  const labels = labelsFor(spec, o);
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: objectName(spec), namespace, labels, annotations: started(spec) },
    spec: {
      replicas: spec.startNow ? 1 : 0,
      serviceName: objectName(spec),
      selector: { matchLabels: { [LABELS.envId]: spec.envId } },
      template: podTemplate(spec, o, placement, 'statefulset'),
      // Deleting the env deletes its home; stopping (scale to 0) keeps it.
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Retain' },
      volumeClaimTemplates: [
        {
          metadata: { name: 'home', labels },
          spec: {
            accessModes: ['ReadWriteOnce'],
            storageClassName: o.storageClass,
            resources: { requests: { storage: HOME_SIZE } },
          },
        },
      ],
    },
  };
}

/** Batch training: created suspended (start resumes it); not retried (backoffLimit 0); kept after it ends so its
 *  outcome (Complete / Failed) stays readable until the env is deleted. */
export function job(spec: EnvSpec, o: K8sOptions, namespace: string, placement: Placement): V1Job {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: objectName(spec), namespace, labels: labelsFor(spec, o), annotations: started(spec) },
    spec: { suspend: !spec.startNow, backoffLimit: 0, template: podTemplate(spec, o, placement, 'job') },
  };
}

/** Scheduled training: suspended until started; runs never overlap (Forbid), so GPUs aren't asked for twice. */
export function cronJob(spec: EnvSpec, o: K8sOptions, namespace: string, placement: Placement): V1CronJob {
  if (!spec.schedule) throw new UnprocessableError('a cronjob needs a schedule');
  const labels = labelsFor(spec, o);
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: objectName(spec), namespace, labels, annotations: started(spec) },
    spec: {
      schedule: spec.schedule,
      suspend: !spec.startNow,
      concurrencyPolicy: 'Forbid',
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 3,
      jobTemplate: {
        metadata: { labels },
        spec: { backoffLimit: 0, template: podTemplate(spec, o, placement, 'cronjob') },
      },
    },
  };
}

export const PUBLIC_SUFFIX = '-public';

/** What network_config.expose publishes: SSH and the env's own ports. Jupyter and the desktop protocols stay
 *  behind the gateway (its auth in front; a VNC password is 8 characters). */
export function publicPorts(spec: EnvSpec): { name: string; port: number }[] {
  const ports = new Map<number, string>([[SSH_PORT, 'ssh']]);
  for (const p of spec.ports) {
    if ((p.protocol ?? 'tcp') !== 'tcp' || [JUPYTER_PORT, VNC_PORT, RDP_PORT].includes(p.container_port)) continue;
    if (!ports.has(p.container_port)) ports.set(p.container_port, `p-${p.container_port}`);
  }
  return [...ports].map(([port, name]) => ({ name, port }));
}

/** The public Service (NodePort or LoadBalancer), or undefined without network_config.expose. */
export function publicService(spec: EnvSpec, o: K8sOptions, namespace: string): V1Service | undefined {
  if (!spec.expose) return undefined;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: `${objectName(spec)}${PUBLIC_SUFFIX}`, namespace, labels: labelsFor(spec, o) },
    spec: {
      type: spec.expose === 'load_balancer' ? 'LoadBalancer' : 'NodePort',
      selector: { [LABELS.envId]: spec.envId },
      ports: publicPorts(spec).map(({ name, port }) => ({ name, port, targetPort: port, protocol: 'TCP' })),
    },
  };
}

/** The namespace's policy admits only the gateway; an exposed env's public ports are admitted from anywhere. */
export function publicPolicy(spec: EnvSpec, o: K8sOptions, namespace: string): V1NetworkPolicy | undefined {
  if (!spec.expose) return undefined;
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: `${objectName(spec)}${PUBLIC_SUFFIX}`, namespace, labels: labelsFor(spec, o) },
    spec: {
      podSelector: { matchLabels: { [LABELS.envId]: spec.envId } },
      policyTypes: ['Ingress'],
      ingress: [{ ports: publicPorts(spec).map(({ port }) => ({ port, protocol: 'TCP' })) }],
    },
  };
}

/** ClusterIP: the gateway reaches the pod through the API server's port-forward, never through this Service;
 *  it names the ports for in-cluster clients. Public access is publicService()'s. */
export function service(spec: EnvSpec, o: K8sOptions, namespace: string): V1Service {
  const ports = new Map<number, string>([
    [SSH_PORT, 'ssh'],
    [JUPYTER_PORT, 'jupyter'],
    [VNC_PORT, 'vnc'],
  ]);
  for (const p of spec.ports)
    if (!ports.has(p.container_port) && (p.protocol ?? 'tcp') === 'tcp')
      ports.set(p.container_port, `p-${p.container_port}`);
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: objectName(spec), namespace, labels: labelsFor(spec, o) },
    spec: {
      type: 'ClusterIP',
      selector: { [LABELS.envId]: spec.envId },
      ports: [...ports].map(([port, name]) => ({ name, port, targetPort: port, protocol: 'TCP' })),
    },
  };
}

/** Every Hangar pod in the namespace admits ingress only from pods labelled dev.hangar.gateway=<this gateway's
 *  id>, in any namespace (an in-cluster gateway labels its own pod so). A gateway outside the cluster uses the API
 *  server's port-forward, which enters the pod's network namespace from the node and is not subject to it. */
export function networkPolicy(o: K8sOptions, namespace: string): V1NetworkPolicy {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: {
      name: NETWORK_POLICY_NAME,
      namespace,
      labels: { [LABELS.managed]: 'true', [LABELS.gateway]: o.gatewayId },
    },
    spec: {
      podSelector: { matchLabels: { [LABELS.managed]: 'true' } },
      policyTypes: ['Ingress'],
      ingress: [
        { _from: [{ namespaceSelector: {}, podSelector: { matchLabels: { [LABELS.gateway]: o.gatewayId } } }] },
      ],
    },
  };
}

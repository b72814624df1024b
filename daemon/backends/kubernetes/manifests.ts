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
import { RESTRICTED_SSH_PORT, withAgent } from './agentPod';
import type {
  V1Affinity,
  V1Container,
  V1CronJob,
  V1Deployment,
  V1EnvVar,
  V1Job,
  V1NetworkPolicy,
  V1PodTemplateSpec,
  V1Secret,
  V1Service,
  V1StatefulSet,
  V1VolumeMount,
} from '@kubernetes/client-node';
import { podStorage, templateHome } from './claims';
import { UnprocessableError } from '../../errors';
import { JUPYTER_PORT, LABELS, RDP_PORT, SSH_PORT, SSHD_CAPABILITIES, VNC_PORT, type EnvSpec } from '../../contract';
import {
  BOOT_MOUNT,
  bootKey,
  CONTAINER,
  DEFAULT_GPU_TOLERATIONS,
  GPU_PRODUCT_LABEL,
  HOME_SIZE,
  labelsFor,
  MODES_KEY,
  modesText,
  NETWORK_POLICY_NAME,
  objectName,
  PUBLIC_SUFFIX,
  PULL_POLICY,
  STARTED_ANNOTATION,
  type K8sOptions,
  type WorkloadKind,
} from './conventions';
import { datasetSync } from './datasetSync';
import { shareDirsInit } from './shareDirs';

// The shared names and keys are part of this module's surface too (tests and older imports read them from here).
export * from './conventions';

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
  if (isBatch(kind) && !spec.runCommand?.length) throw new UnprocessableError(`a ${kind} needs a command to run`);
  return withAgent(podSpec(spec, o, placement, kind), spec, o);
}

function podSpec(spec: EnvSpec, o: K8sOptions, placement: Placement, kind: WorkloadKind): V1PodTemplateSpec {
  const storage = podStorage(spec, kind);
  const labels = labelsFor(spec, o);
  const gpus = gpuResources(spec);
  const shareDirs = shareDirsInit(spec);
  const sync = datasetSync(spec, o);
  const inits = [...(shareDirs.initContainers ?? []), ...sync.initContainers];
  return {
    metadata: { labels, annotations: {} },
    spec: {
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      hostname: spec.name.slice(0, 63),
      terminationGracePeriodSeconds: sync.graceS ?? 10,
      imagePullSecrets: o.imagePullSecrets.length ? o.imagePullSecrets.map((name) => ({ name })) : undefined,
      // A Job's pod runs once: a failure is reported (backoffLimit 0), not retried in place.
      restartPolicy: isBatch(kind) ? 'Never' : undefined,
      nodeSelector: placement.nodeSelector,
      tolerations: Object.keys(gpus).length ? (o.gpuTolerations ?? DEFAULT_GPU_TOLERATIONS) : undefined,
      affinity: productAffinity(placement.products),
      securityContext: {
        runAsNonRoot: false,
        seccompProfile: { type: 'RuntimeDefault' },
        // Claims are made group-writable for the login user's group (NFS volumes ignore it; init.sh chowns those).
        ...(storage.claims ? { fsGroup: o.fsGroup ?? 1000, fsGroupChangePolicy: 'OnRootMismatch' } : {}),
      },
      initContainers: inits.length ? inits : undefined,
      containers: [envContainer(spec, kind, gpus, [...storage.mounts, ...sync.mounts])],
      volumes: [
        { name: 'hangar-boot', secret: { secretName: `${objectName(spec)}-boot`, defaultMode: 0o400 } },
        // In memory: it holds the env's SSH host key.
        { name: 'hangar', emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } },
        // The operator's shares (in-tree nfs volumes: the kubelet's node mounts them), volumes' and the home claim.
        ...storage.volumes,
        ...shareDirs.volumes,
        ...sync.volumes, // datasets, copied in by the sync init containers (datasetSync.ts)
      ],
    },
  };
}

/** Several wanted GPU models: required node affinity on the product label (one model is a nodeSelector instead). */
function productAffinity(products: string[] | undefined): V1Affinity | undefined {
  if (!products?.length) return undefined;
  return {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{ matchExpressions: [{ key: GPU_PRODUCT_LABEL, operator: 'In', values: products }] }],
      },
    },
  };
}

/** SSH, Jupyter and VNC, then the env's own TCP ports (named p-<port>): what the pod and its ClusterIP name. */
function clusterPorts(spec: EnvSpec): Map<number, string> {
  const ports = new Map<number, string>([
    [SSH_PORT, 'ssh'],
    [JUPYTER_PORT, 'jupyter'],
    [VNC_PORT, 'vnc'],
  ]);
  for (const p of spec.ports)
    if (!ports.has(p.container_port) && (p.protocol ?? 'tcp') === 'tcp')
      ports.set(p.container_port, `p-${p.container_port}`);
  return ports;
}

/** The env's one container: the boot-file copy wrapping its command, its limits, and the hardened security context. */
function envContainer(
  spec: EnvSpec,
  kind: WorkloadKind,
  gpus: Record<string, string>,
  storage: V1VolumeMount[],
): V1Container {
  const limits: Record<string, string> = { ...gpus };
  if (spec.cpu) limits.cpu = String(spec.cpu);
  if (spec.memoryMb) limits.memory = `${spec.memoryMb}Mi`;
  return {
    name: CONTAINER,
    image: spec.image,
    imagePullPolicy: PULL_POLICY[spec.pullPolicy],
    command: ['/bin/sh', '-c', COPY_BOOT_FILES, 'hangar-boot', ...(isBatch(kind) ? spec.runCommand! : spec.command)],
    env: envVars(spec),
    ports: [...clusterPorts(spec)].map(([containerPort, name]) => ({ containerPort, name, protocol: 'TCP' })),
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
      ...storage,
    ],
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
      // Deleting the env deletes its home; stopping (scale to 0) keeps it. storage_type pvc/ceph: Hangar's own home
      // claim instead (envClaims), the same for k8s_pod and k8s_stateful.
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Retain' },
      volumeClaimTemplates: !templateHome(spec, 'statefulset')
        ? undefined
        : [
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
  const ports = clusterPorts(spec);
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: objectName(spec), namespace, labels: labelsFor(spec, o) },
    spec: {
      type: 'ClusterIP',
      selector: { [LABELS.envId]: spec.envId },
      ports: [...ports].map(([port, name]) => ({ name, port, targetPort: sshTarget(port, o), protocol: 'TCP' })),
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

const sshTarget = (port: number, o: K8sOptions) => (port === SSH_PORT && o.restricted ? RESTRICTED_SSH_PORT : port);

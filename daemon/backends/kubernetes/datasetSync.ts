// Datasets in pods, synced rather than mounted: a pod gets no FUSE (that needs /dev/fuse and CAP_SYS_ADMIN in the
// pod, or a CSI driver the cluster may not have), so an init container of the operator's dataset_sync_image (rclone)
// copies each dataset into an emptyDir before the env's container starts, which mounts it read-only when the mount
// is. A read-write dataset also gets a native sidecar (an init container with restartPolicy Always, stopped after the
// env's container) that copies the directory back to the bucket when the pod stops — rclone copy: new and changed
// files, deletions are not carried back — within the pod's grace period (COPY_BACK_GRACE_S). No live view: what
// changes in the bucket while the pod runs shows at its next start. The keys (scoped to the env's datasets) are in a
// Secret of their own, read by the sync containers through secretKeyRef: not in the env's container, not in the spec.
import type { V1Container, V1EnvVar, V1Secret, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { LOGIN_GID, LOGIN_UID, type EnvSpec, type SpecMount } from '../../contract';
import { UnprocessableError } from '../../errors';
import { labelsFor, objectName, type K8sOptions } from './conventions';

export const COPY_BACK_GRACE_S = 120;
const AT = '/dataset';
/** The copy-back sidecar of mount i; its command's last argument is the dataset's remote. */
export const COPY_BACK = /^dataset-back-(\d+)$/;

export const datasetSecretName = (spec: Pick<EnvSpec, 'name' | 'envId'>) => `${objectName(spec)}-datasets`;
const datasetMounts = (spec: EnvSpec) =>
  spec.mounts.flatMap((m, i) => (m.type === 'dataset' && m.dataset ? [{ i, m }] : []));

/** The Secret with each dataset's keys (none when the env mounts no dataset). */
export function datasetSecret(spec: EnvSpec, o: K8sOptions, namespace: string): V1Secret | undefined {
  const ds = datasetMounts(spec);
  if (!ds.length) return undefined;
  const data: Record<string, string> = {};
  for (const { i, m } of ds) {
    data[`ds-${i}-access-key-id`] = Buffer.from(m.dataset!.accessKeyId).toString('base64');
    data[`ds-${i}-secret-access-key`] = Buffer.from(m.dataset!.secretAccessKey).toString('base64');
  }
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: datasetSecretName(spec), namespace, labels: labelsFor(spec, o) },
    type: 'Opaque',
    data,
  };
}

/** rclone's remote "ds" from the environment: the endpoint in plain values, the keys from the Secret. */
function rcloneEnv(spec: EnvSpec, i: number, m: SpecMount): V1EnvVar[] {
  const d = m.dataset!;
  const key = (k: string) => ({ secretKeyRef: { name: datasetSecretName(spec), key: `ds-${i}-${k}` } });
  return [
    { name: 'RCLONE_CONFIG_DS_TYPE', value: 's3' },
    { name: 'RCLONE_CONFIG_DS_PROVIDER', value: 'Other' },
    { name: 'RCLONE_CONFIG_DS_ENDPOINT', value: d.endpoint },
    { name: 'RCLONE_CONFIG_DS_REGION', value: d.region },
    { name: 'RCLONE_CONFIG_DS_FORCE_PATH_STYLE', value: String(d.pathStyle) },
    // A key scoped to a prefix may not create or probe the bucket.
    { name: 'RCLONE_CONFIG_DS_NO_CHECK_BUCKET', value: 'true' },
    { name: 'RCLONE_CONFIG_DS_ACCESS_KEY_ID', valueFrom: key('access-key-id') },
    { name: 'RCLONE_CONFIG_DS_SECRET_ACCESS_KEY', valueFrom: key('secret-access-key') },
    { name: 'HOME', value: '/tmp' },
  ];
}

const SECURITY = {
  runAsUser: LOGIN_UID,
  runAsGroup: LOGIN_GID,
  runAsNonRoot: true,
  privileged: false,
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

/** The sync containers, the emptyDirs and the env container's mounts of them; the grace period a copy-back needs. */
export function datasetSync(
  spec: EnvSpec,
  o: K8sOptions,
): { initContainers: V1Container[]; volumes: V1Volume[]; mounts: V1VolumeMount[]; graceS?: number } {
  const ds = datasetMounts(spec);
  const out = { initContainers: [] as V1Container[], volumes: [] as V1Volume[], mounts: [] as V1VolumeMount[] };
  if (!ds.length) return out;
  if (!o.datasetSyncImage)
    throw new UnprocessableError(`storage_config.mounts: backend '${o.backendId}' has no dataset_sync_image`);
  let copyBack = false;
  for (const { i, m } of ds) {
    const remote = `ds:${m.dataset!.bucket}/${m.dataset!.prefix}`;
    const base = {
      image: o.datasetSyncImage,
      imagePullPolicy: 'IfNotPresent',
      env: rcloneEnv(spec, i, m),
      securityContext: SECURITY,
      volumeMounts: [{ name: `ds-${i}`, mountPath: AT }],
    };
    out.volumes.push({ name: `ds-${i}`, emptyDir: {} });
    out.mounts.push({ name: `ds-${i}`, mountPath: m.target, readOnly: Boolean(m.read_only) });
    // Arguments, not a shell line: the remote is rclone's argument as it is.
    out.initContainers.push({ ...base, name: `dataset-sync-${i}`, command: ['rclone', 'copy', remote, AT] });
    if (m.read_only) continue;
    copyBack = true;
    out.initContainers.push({
      ...base,
      name: `dataset-back-${i}`,
      restartPolicy: 'Always',
      // An on-demand copy-back (datasetSyncBack.ts) is exec'd here and copies its working directory.
      workingDir: AT,
      // Sleeps until the pod stops; TERM copies back. The remote is $1, never spliced into the script.
      command: [
        '/bin/sh',
        '-c',
        `trap 'rclone copy ${AT} "$1"; exit 0' TERM; while :; do sleep 3600 & wait $!; done`,
        'dataset-back',
        remote,
      ],
    });
  }
  return { ...out, ...(copyBack ? { graceS: COPY_BACK_GRACE_S } : {}) };
}

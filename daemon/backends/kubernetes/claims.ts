// Claims (PersistentVolumeClaims) of an env, pure: its home claim (storage_type pvc / ceph, for k8s_pod and
// k8s_stateful alike), the claims of the volumes it mounts (hangar-vol-<id>, made on first use, outliving the env),
// the pod's volumes and mounts for them and for shares, and why a claim does not bind (from its events).
import type { CoreV1Event, V1PersistentVolumeClaim, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { InputError, UnprocessableError } from '../../errors';
import { LABELS, type ClaimRequest, type EnvSpec } from '../../contract';
import { labelsFor, objectName, type K8sOptions, type WorkloadKind } from './conventions';

/** On the claims of volumes (not of one env): what lists and removes them by. */
export const VOLUME_LABEL = 'dev.hangar.volume';
const CEPH_MODES = { cephfs: 'ReadWriteMany', rbd: 'ReadWriteOnce' } as const;

export const homeClaimName = (spec: Pick<EnvSpec, 'name' | 'envId'>) => `${objectName(spec)}-home`;
/** A volume (or share) mounted at /home is the home directory: it outlives the env, and no home claim is made. */
const homeMounted = (spec: Pick<EnvSpec, 'mounts'>) =>
  spec.mounts.some((m) => m.target.replace(/\/+$/, '') === '/home');
/** storage_type pvc / ceph: the env's home directory is a claim Hangar makes (not a StatefulSet's template). */
export const hasHomeClaim = (spec: Pick<EnvSpec, 'storageType' | 'mounts'>) =>
  (spec.storageType === 'pvc' || spec.storageType === 'ceph') && !homeMounted(spec);
/** A k8s_stateful env of storage_type local gets /home from its StatefulSet's claim template, as before. */
export const templateHome = (spec: Pick<EnvSpec, 'storageType' | 'mounts'>, kind: WorkloadKind) =>
  kind === 'statefulset' && !hasHomeClaim(spec) && !homeMounted(spec);

export interface ResolvedClaim {
  storageClassName?: string;
  accessModes: string[];
  size: string;
}

/** A request → class, access modes and size. `ceph` becomes the backend's mapped class (400 naming `field.ceph`
 *  when it maps none); no class: the backend's storage_class, else the cluster's default. */
export function resolveClaim(
  o: K8sOptions,
  req: ClaimRequest | undefined,
  field: string,
  defaults: { sizeGb: number; ceph?: 'cephfs' | 'rbd' },
): ResolvedClaim {
  const ceph = req?.ceph ?? (req?.storageClass ? undefined : defaults.ceph);
  const at = (k: string) => (field ? `${field}.${k}` : k);
  let storageClassName = req?.storageClass ?? o.storageClass;
  if (ceph) {
    storageClassName = o.ceph?.[`${ceph}_class`];
    if (!storageClassName)
      throw new InputError(
        req?.ceph ? at('ceph') : 'storage_type',
        `${req?.ceph ? at('ceph') : 'storage_type'}: backend '${o.backendId}' maps no Ceph ${ceph} StorageClass (ceph.${ceph}_class in its config)`,
      );
  }
  return {
    storageClassName,
    accessModes: req?.accessModes ?? [ceph ? CEPH_MODES[ceph] : 'ReadWriteOnce'],
    size: `${req?.sizeGb ?? defaults.sizeGb}Gi`,
  };
}

export function claimObject(
  name: string,
  namespace: string,
  labels: Record<string, string>,
  r: ResolvedClaim,
): V1PersistentVolumeClaim {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace, labels },
    spec: {
      accessModes: r.accessModes,
      storageClassName: r.storageClassName,
      resources: { requests: { storage: r.size } },
    },
  };
}

/** The claims an env needs: its home claim (labelled with the env: deleted with it) and its volumes' (labelled as
 *  volumes: kept). Throws 400 for a Ceph kind the backend doesn't map. */
export function envClaims(spec: EnvSpec, o: K8sOptions, namespace: string): V1PersistentVolumeClaim[] {
  const out: V1PersistentVolumeClaim[] = [];
  const ceph = spec.storageType === 'ceph';
  if (hasHomeClaim(spec)) {
    const r = resolveClaim(o, spec.home, 'storage_config.home', {
      sizeGb: o.homeSizeGb ?? 10,
      ceph: ceph ? 'rbd' : undefined,
    });
    out.push(claimObject(homeClaimName(spec), namespace, labelsFor(spec, o), r));
  }
  for (const [i, m] of spec.mounts.entries()) {
    if (m.type !== 'volume') continue;
    const r = resolveClaim(o, m.claim, `storage_config.mounts.${i}`, {
      sizeGb: m.size_gb ?? o.volumeSizeGb ?? 10,
      ceph: ceph ? 'cephfs' : undefined,
    });
    out.push(claimObject(m.source, namespace, volumeLabels(o, spec.owner), r));
  }
  return out;
}

export function volumeLabels(o: K8sOptions, owner: string): Record<string, string> {
  return {
    [LABELS.managed]: 'true',
    [LABELS.gateway]: o.gatewayId,
    [LABELS.backend]: o.backendId,
    [LABELS.owner]: owner,
    [VOLUME_LABEL]: 'true',
  };
}

/** The pod's volumes and the container's mounts for the env's storage: shares (in-tree nfs), volumes' claims, the
 *  home claim; `fsGroup` when it mounts any claim (so the login user's group may write). */
export function podStorage(
  spec: EnvSpec,
  kind: WorkloadKind,
): { volumes: V1Volume[]; mounts: V1VolumeMount[]; claims: boolean } {
  const volumes: V1Volume[] = [];
  const mounts: V1VolumeMount[] = [];
  for (const [i, m] of spec.mounts.entries()) {
    const readOnly = m.read_only ?? false;
    if (m.type === 'nfs' && m.nfs?.kind !== 'cephfs') {
      volumes.push({ name: `share-${i}`, nfs: { server: m.nfs!.server, path: m.nfs!.path, readOnly } });
      mounts.push({ name: `share-${i}`, mountPath: m.target, readOnly });
    } else if (m.type === 'volume') {
      volumes.push({ name: `vol-${i}`, persistentVolumeClaim: { claimName: m.source, readOnly } });
      mounts.push({ name: `vol-${i}`, mountPath: m.target, readOnly });
    } else if (m.type === 'dataset') {
      continue; // datasetSync.ts
    } else if (m.type === 'nfs') {
      throw new UnprocessableError(
        `storage_config mounts of ${m.target}: CephFS shares are for Docker hosts; on Kubernetes mount a volume with ceph: cephfs (the backend's CephFS StorageClass)`,
      );
    } else {
      throw new UnprocessableError(
        `storage_config mounts of ${m.target}: host paths are not mounted on Kubernetes backends (volumes and shares are)`,
      );
    }
  }
  const home = hasHomeClaim(spec);
  if (home) volumes.push({ name: 'home', persistentVolumeClaim: { claimName: homeClaimName(spec) } });
  // A StatefulSet without a claim of Hangar's gets /home from its volumeClaimTemplate.
  const template = templateHome(spec, kind);
  if (home || template) mounts.push({ name: 'home', mountPath: '/home' });
  return { volumes, mounts, claims: template || volumes.some((v) => v.persistentVolumeClaim) };
}

const when = (e: CoreV1Event) => String(e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? '');
/** Events that say a claim waits on purpose, not why it can't bind. */
const WAITING = new Set(['WaitForFirstConsumer', 'WaitForPodScheduled']);

/** Why a claim isn't bound, from its phase and its newest event; undefined when bound or merely waiting for its
 *  first pod. E.g. `claim x-home (class 'fast') is Pending: ProvisioningFailed: storageclass… "fast" not found`. */
export function claimProblem(pvc: V1PersistentVolumeClaim, events: CoreV1Event[]): string | undefined {
  const phase = pvc.status?.phase ?? 'Pending';
  if (phase === 'Bound') return undefined;
  const cls = pvc.spec?.storageClassName;
  const what = `claim ${pvc.metadata?.name} (${cls ? `class '${cls}'` : 'no class'}) is ${phase}`;
  if (phase === 'Lost') return `${what}: its volume is gone`;
  const last = [...events].sort((a, b) => when(a).localeCompare(when(b))).pop();
  if (!last || WAITING.has(last.reason ?? '')) return undefined;
  return `${what}: ${last.reason ?? 'event'}: ${last.message ?? ''}`.trim();
}

/** A Kubernetes quantity ("10Gi", "1073741824", "5G") in GiB, rounded to two places. */
export function gib(q: string | undefined): number | undefined {
  const m = /^(\d+(?:\.\d+)?)([KMGTPE]i?)?$/.exec(q ?? '');
  if (!m) return undefined;
  const pow = { K: 1, M: 2, G: 3, T: 4, P: 5, E: 6 }[(m[2] ?? ' ')[0] as 'K'] ?? 0;
  const bytes = Number(m[1]) * (m[2]?.endsWith('i') ? 1024 : 1000) ** pow;
  return Math.round((bytes / 1024 ** 3) * 100) / 100;
}

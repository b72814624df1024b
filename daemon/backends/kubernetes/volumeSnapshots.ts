// Snapshots of volume claims as snapshot.storage.k8s.io/v1 VolumeSnapshots (the cluster's external
// snapshot-controller and its CSI driver's snapshotter do the work; the default VolumeSnapshotClass is used). Ready
// when status.readyToUse is true; until then pending, with the controller's error if it reported one. Restore is a
// new claim with dataSource VolumeSnapshot in the source's namespace, class and access modes — Kubernetes can't put a
// snapshot back into an existing claim, so restoring into the same volume is a 422 saying so.
import { CustomObjectsApi, type V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { LABELS, type BackendSnapshotState, type VolumeSnapshotsCapability } from '../../contract';
import { ConflictError, UnprocessableError } from '../../errors';
import { pollUntil } from '../shared/poll';
import { unless } from './api';
import type { K8sClient } from './client';

const GROUP = 'snapshot.storage.k8s.io';
const API = { group: GROUP, version: 'v1', plural: 'volumesnapshots' };

interface VolumeSnapshotObject {
  status?: { readyToUse?: boolean; restoreSize?: string; error?: { message?: string } };
}

export function volumeSnapshots(c: K8sClient): VolumeSnapshotsCapability {
  const custom = c.kc.makeApiClient(CustomObjectsApi);
  const claim = async (name: string): Promise<V1PersistentVolumeClaim> => {
    const l = await c.call(() =>
      c.core.listPersistentVolumeClaimForAllNamespaces({
        fieldSelector: `metadata.name=${name}`,
        labelSelector: `${LABELS.gateway}=${c.o.gatewayId}`,
      }),
    );
    if (!l.items[0]) throw new UnprocessableError(`volume ${name} has no claim on backend '${c.id}'`);
    return l.items[0];
  };
  const read = async (namespace: string, name: string): Promise<BackendSnapshotState> => {
    const o = (await c.maybe(() => custom.getNamespacedCustomObject({ ...API, namespace, name }))) as
      VolumeSnapshotObject | undefined;
    if (!o) return { state: 'failed', message: `VolumeSnapshot ${name} is gone` };
    if (o.status?.readyToUse) return { state: 'ready' };
    const why = o.status?.error?.message;
    return {
      state: 'pending',
      message: why ?? 'waiting for the CSI driver to take it (readyToUse is not true yet)',
    };
  };
  return {
    kind: 'csi',
    async create(volume, snapshot) {
      const pvc = await claim(volume);
      const namespace = pvc.metadata!.namespace!;
      const body = {
        apiVersion: `${GROUP}/v1`,
        kind: 'VolumeSnapshot',
        metadata: { name: snapshot, namespace, labels: { ...pvc.metadata?.labels, [LABELS.managed]: 'true' } },
        spec: { source: { persistentVolumeClaimName: volume } },
      };
      await c
        .call(() => custom.createNamespacedCustomObject({ ...API, namespace, body }))
        .catch(c.refused(`VolumeSnapshot ${snapshot}`));
      return read(namespace, snapshot);
    },
    async state(volume, snapshot) {
      return read((await claim(volume)).metadata!.namespace!, snapshot);
    },
    restore: (volume, snapshot, target, o) => restoreClaim(c, custom, claim, { volume, snapshot, target, ...o }),
    async swapIn(volume, snapshot) {
      const pvc = await claim(volume);
      const st = await read(pvc.metadata!.namespace!, snapshot);
      if (st.state !== 'ready') throw new ConflictError(`VolumeSnapshot ${snapshot} is ${st.state}: ${st.message}`);
      await swapClaim(c, pvc, snapshot);
    },
    async delete(volume, snapshot) {
      const pvc = await c.maybe(() => claim(volume));
      if (!pvc) return;
      await c
        .call(() =>
          custom.deleteNamespacedCustomObject({ ...API, namespace: pvc.metadata!.namespace!, name: snapshot }),
        )
        .catch(unless(404));
    },
  };
}

/** A new claim `target` from the snapshot, beside its source (same namespace, class, access modes, labels). */
async function restoreClaim(
  c: K8sClient,
  custom: CustomObjectsApi,
  claim: (name: string) => Promise<V1PersistentVolumeClaim>,
  r: { volume: string; snapshot: string; target: string; replace: boolean },
): Promise<BackendSnapshotState> {
  if (r.replace)
    throw new UnprocessableError(
      'a Kubernetes VolumeSnapshot restores into a new claim only (into: new); an existing claim cannot be overwritten',
    );
  const pvc = await claim(r.volume);
  const namespace = pvc.metadata!.namespace!;
  const snap = (await c.call(() =>
    custom.getNamespacedCustomObject({ ...API, namespace, name: r.snapshot }),
  )) as VolumeSnapshotObject;
  const size = snap.status?.restoreSize ?? pvc.spec?.resources?.requests?.storage ?? '1Gi';
  const body: V1PersistentVolumeClaim = {
    metadata: { name: r.target, namespace, labels: pvc.metadata?.labels },
    spec: {
      accessModes: pvc.spec?.accessModes ?? ['ReadWriteOnce'],
      storageClassName: pvc.spec?.storageClassName,
      resources: { requests: { storage: size } },
      dataSource: { apiGroup: GROUP, kind: 'VolumeSnapshot', name: r.snapshot },
    },
  };
  await c
    .call(() => c.core.createNamespacedPersistentVolumeClaim({ namespace, body }))
    .catch(c.refused(`claim ${r.target}`));
  return { state: 'ready' };
}

/** The claim deleted (its pod is gone: the env is stopped), then made again under its name from the snapshot. */
async function swapClaim(c: K8sClient, pvc: V1PersistentVolumeClaim, snapshot: string): Promise<void> {
  const { name, namespace, labels, annotations } = pvc.metadata as Required<V1PersistentVolumeClaim>['metadata'];
  await c
    .call(() => c.core.deleteNamespacedPersistentVolumeClaim({ name: name!, namespace: namespace! }))
    .catch(unless(404));
  const gone = await pollUntil(
    async () =>
      (await c.maybe(() => c.core.readNamespacedPersistentVolumeClaim({ name: name!, namespace: namespace! })))
        ? undefined
        : true,
    { timeoutMs: 120_000, intervalMs: 250, factor: 2, maxMs: 2000 },
  );
  if (!gone)
    throw new UnprocessableError(
      `claim ${name} is still being deleted (does a pod still use it?): run the restore again once it is gone`,
    );
  const keep = Object.fromEntries(
    Object.entries(annotations ?? {}).filter(([k]) => !k.startsWith('pv.kubernetes.io/') && !k.startsWith('volume.')),
  );
  const body: V1PersistentVolumeClaim = {
    metadata: { name, namespace, labels, annotations: keep },
    spec: {
      accessModes: pvc.spec?.accessModes,
      storageClassName: pvc.spec?.storageClassName,
      resources: { requests: { storage: pvc.spec?.resources?.requests?.storage ?? '1Gi' } },
      dataSource: { apiGroup: GROUP, kind: 'VolumeSnapshot', name: snapshot },
    },
  };
  await c
    .call(() => c.core.createNamespacedPersistentVolumeClaim({ namespace: namespace!, body }))
    .catch(c.refused(`claim ${name}`));
}

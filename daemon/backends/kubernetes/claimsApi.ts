// Claims on the cluster: making an env's (before its workload), saying why one doesn't bind (its events, into the
// env's pending message), and volumes as claims (POST /volumes on a Kubernetes backend: make, list, resize, remove).
import type { V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import type { VolumeState } from '../../../common/model';
import { InputError, UnprocessableError } from '../../errors';
import { LABELS, type BackendStatus, type VolumeOptions, type VolumesCapability } from '../../contract';
import { MERGE, statusOf, unless } from './api';
import type { K8sClient } from './client';
import { claimObject, claimProblem, gib, resolveClaim, VOLUME_LABEL } from './claims';
import { namespaceFor, TEAM_LABEL, teamNamespace } from './conventions';

/** Makes the claims that aren't there yet. A volume's claim in another namespace can't be mounted here: 422. */
export async function ensureClaims(c: K8sClient, namespace: string, claims: V1PersistentVolumeClaim[]): Promise<void> {
  for (const pvc of claims) {
    const name = pvc.metadata!.name!;
    if (pvc.metadata?.labels?.[VOLUME_LABEL]) {
      const where = (await findClaims(c, name)).map((x) => x.metadata!.namespace!);
      if (where.length && !where.includes(namespace))
        throw new UnprocessableError(
          `volume ${name} is a claim in namespace '${where[0]}'; an env in namespace '${namespace}' can't mount it`,
        );
    }
    await c
      .call(() => c.core.createNamespacedPersistentVolumeClaim({ namespace, body: pvc }))
      .catch((err) => (statusOf(err) === 409 ? undefined : c.refused(`claim ${name}`)(err)));
  }
}

/** This gateway's claims named `name`, in any namespace. */
async function findClaims(c: K8sClient, name: string): Promise<V1PersistentVolumeClaim[]> {
  const l = await c.call(() =>
    c.core.listPersistentVolumeClaimForAllNamespaces({
      fieldSelector: `metadata.name=${name}`,
      labelSelector: `${LABELS.gateway}=${c.o.gatewayId}`,
    }),
  );
  return l.items;
}

async function problemOf(c: K8sClient, pvc: V1PersistentVolumeClaim): Promise<string | undefined> {
  if (pvc.status?.phase === 'Bound') return undefined;
  const events = await c.call(() =>
    c.core.listNamespacedEvent({
      namespace: pvc.metadata!.namespace!,
      fieldSelector: `involvedObject.kind=PersistentVolumeClaim,involvedObject.name=${pvc.metadata!.name}`,
    }),
  );
  return claimProblem(pvc, events.items);
}

/** A pending status with the reasons of the pods' unbound claims put first (the scheduler only says "unbound"). */
export async function explainPending(c: K8sClient, st: BackendStatus, pods: V1Pod[]): Promise<BackendStatus> {
  if (st.state !== 'pending') return st;
  const problems: string[] = [];
  for (const p of pods) {
    for (const v of p.spec?.volumes ?? []) {
      const name = v.persistentVolumeClaim?.claimName;
      if (!name) continue;
      const pvc = await c.maybe(() =>
        c.core.readNamespacedPersistentVolumeClaim({ name, namespace: p.metadata!.namespace! }),
      );
      const why = pvc && (await problemOf(c, pvc));
      if (why && !problems.includes(why)) problems.push(why);
    }
  }
  return problems.length ? { ...st, message: `${problems.join('; ')}${st.message ? `; ${st.message}` : ''}` } : st;
}

/** explainPending for an env by id (the watch's path); a claim's first event may lag its pod: looked for a few times. */
export async function explainEnv(c: K8sClient, envId: string, st: BackendStatus): Promise<BackendStatus> {
  if (st.state !== 'pending') return st;
  for (let i = 0; ; i++) {
    const pods = await c.call(() => c.core.listPodForAllNamespaces({ labelSelector: `${LABELS.envId}=${envId}` }));
    const out = await explainPending(c, st, pods.items);
    const unbound = pods.items.some((p) => p.spec?.volumes?.some((v) => v.persistentVolumeClaim));
    if (out !== st || !unbound || i >= 4) return out;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Volumes as claims `hangar-vol-<id>` in the owner's namespace (a team's: the team's, per-team policy only). */
export function claimVolumes(
  c: K8sClient,
  ensureNamespace: (ns: string, who: Who) => Promise<void>,
): VolumesCapability {
  return {
    claims: { defaultSizeGb: c.k8s.volumeSizeGb ?? 10 },
    async create(name, labels, sizeGb, opts?: VolumeOptions) {
      const owner = labels[LABELS.owner] ?? '';
      const who: Who = owner.startsWith('team:') ? { owner, team: owner.slice(5) } : { owner, team: opts?.team };
      const namespace = namespaceOf(c, who);
      const r = resolveClaim(c.k8s, { ...opts, sizeGb }, '', { sizeGb: sizeGb ?? c.k8s.volumeSizeGb ?? 10 });
      await ensureNamespace(namespace, who);
      // Label values can't hold "team:<team>": a team's claim says whose it is in TEAM_LABEL instead.
      const { [LABELS.owner]: _owner, ...rest } = labels;
      const whose: Record<string, string> =
        who.team && owner.startsWith('team:') ? { [TEAM_LABEL]: who.team } : { [LABELS.owner]: owner };
      const body = claimObject(name, namespace, { ...rest, ...whose, [VOLUME_LABEL]: 'true' }, r);
      await c
        .call(() => c.core.createNamespacedPersistentVolumeClaim({ namespace, body }))
        .catch(c.refused(`claim ${name}`));
    },
    async remove(name) {
      for (const pvc of await findClaims(c, name))
        await c
          .call(() => c.core.deleteNamespacedPersistentVolumeClaim({ name, namespace: pvc.metadata!.namespace! }))
          .catch(unless(404));
    },
    resize: (name, sizeGb) => resize(c, name, sizeGb),
    states: () => states(c),
  };
}

export interface Who {
  owner: string;
  team?: string | null;
}

function namespaceOf(c: K8sClient, who: Who): string {
  const teamVolume = who.owner.startsWith('team:');
  if (teamVolume && c.o.namespace_policy !== 'per-team')
    throw new InputError(
      'team',
      `team: backend '${c.id}' puts envs in per-user namespaces (namespace_policy per-user): a team's claim could be mounted by none of them`,
    );
  if (c.o.namespace_policy === 'per-team' && who.team) return teamNamespace(c.o.namespace_prefix, who.team);
  return namespaceFor(c.o.namespace_prefix, who.owner);
}

/** Grows the claim where its StorageClass allows expansion; 422 saying so otherwise. */
async function resize(c: K8sClient, name: string, sizeGb: number): Promise<void> {
  const [pvc] = await findClaims(c, name);
  if (!pvc) throw c.gone(`claim ${name}`);
  const cls = pvc.spec?.storageClassName;
  const sc = cls ? await c.maybe(() => c.storage.readStorageClass({ name: cls })) : undefined;
  if (!sc?.allowVolumeExpansion)
    throw new UnprocessableError(
      `volume ${name} can't grow: ${cls ? `its StorageClass '${cls}' ${sc ? 'does not allow volume expansion (allowVolumeExpansion is not true)' : 'does not exist'}` : 'its claim has no StorageClass'}`,
    );
  const body = { spec: { resources: { requests: { storage: `${sizeGb}Gi` } } } };
  await c
    .call(() => c.core.patchNamespacedPersistentVolumeClaim({ name, namespace: pvc.metadata!.namespace!, body }, MERGE))
    .catch(c.refused(`resize of claim ${name}`));
}

/** Every volume claim of this gateway and backend: phase, class, capacity, and why it is pending or waits to grow. */
async function states(c: K8sClient): Promise<Map<string, VolumeState>> {
  const l = await c.call(() =>
    c.core.listPersistentVolumeClaimForAllNamespaces({ labelSelector: `${c.ownSelector()},${VOLUME_LABEL}=true` }),
  );
  const out = new Map<string, VolumeState>();
  for (const pvc of l.items) {
    const asked = gib(pvc.spec?.resources?.requests?.storage);
    const capacity = gib(pvc.status?.capacity?.storage);
    const phase = pvc.status?.phase ?? 'Pending';
    let message =
      (await problemOf(c, pvc)) ??
      (phase === 'Pending'
        ? 'not bound yet (a WaitForFirstConsumer class binds it with the first pod that mounts it)'
        : undefined);
    if (phase === 'Bound' && asked !== undefined && capacity !== undefined && asked > capacity)
      message = `resize to ${asked} GiB asked; the volume's driver has not expanded it yet (${capacity} GiB)`;
    out.set(pvc.metadata!.name!, {
      phase,
      ...(pvc.spec?.storageClassName ? { storage_class: pvc.spec.storageClassName } : {}),
      ...(capacity !== undefined ? { capacity_gb: capacity } : {}),
      ...(message ? { message } : {}),
    });
  }
  return out;
}

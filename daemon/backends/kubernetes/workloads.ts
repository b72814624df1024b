// Reading, patching and listing an env's workload (Deployment, StatefulSet, Job or CronJob) and its pods.
import type { V1Pod } from '@kubernetes/client-node';
import { LABELS, type BackendStatus, type ManagedObject } from '../../contract';
import { formatRef, MERGE, type Ref } from './api';
import type { K8sClient } from './client';
import { RESTARTED_ANNOTATION, WORKLOAD_KINDS, type WorkloadKind } from './conventions';
import { alive, listState, workloadStatus, type WorkloadLike } from './status';
import { explainPending } from './claimsApi';

export const finished = (j: WorkloadLike) =>
  j.status?.conditions?.some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True') ?? false;
export const envSelector = (r: Pick<Ref, 'envId'>) => `${LABELS.envId}=${r.envId}`;

export function createWorkload(c: K8sClient, kind: WorkloadKind, namespace: string, body: object): Promise<unknown> {
  switch (kind) {
    case 'deployment':
      return c.apps.createNamespacedDeployment({ namespace, body });
    case 'statefulset':
      return c.apps.createNamespacedStatefulSet({ namespace, body });
    case 'job':
      return c.batch.createNamespacedJob({ namespace, body });
    case 'cronjob':
      return c.batch.createNamespacedCronJob({ namespace, body });
  }
}

export async function readWorkload(c: K8sClient, r: Ref): Promise<WorkloadLike | undefined> {
  const a = { name: r.name, namespace: r.namespace };
  switch (r.kind) {
    case 'deployment':
      return c.maybe(() => c.apps.readNamespacedDeployment(a));
    case 'statefulset':
      return c.maybe(() => c.apps.readNamespacedStatefulSet(a));
    case 'job':
      return c.maybe(() => c.batch.readNamespacedJob(a));
    case 'cronjob':
      return c.maybe(() => c.batch.readNamespacedCronJob(a));
  }
}

export async function patchWorkload(c: K8sClient, r: Ref, body: object): Promise<void> {
  const a = { name: r.name, namespace: r.namespace, body };
  const done = await c.maybe((): Promise<unknown> => {
    switch (r.kind) {
      case 'deployment':
        return c.apps.patchNamespacedDeployment(a, MERGE);
      case 'statefulset':
        return c.apps.patchNamespacedStatefulSet(a, MERGE);
      case 'job':
        return c.batch.patchNamespacedJob(a, MERGE);
      case 'cronjob':
        return c.batch.patchNamespacedCronJob(a, MERGE);
    }
  });
  if (!done) throw c.gone(`${r.kind} ${r.namespace}/${r.name}`);
}

/** The env's pods that aren't being deleted. */
export async function podsOf(c: K8sClient, r: Ref): Promise<V1Pod[]> {
  const list = await c.call(() => c.core.listNamespacedPod({ namespace: r.namespace, labelSelector: envSelector(r) }));
  return list.items.filter(alive);
}

/** The workload and its pods (and a CronJob's Jobs) now; `generation` keeps only pods of the current template. */
export async function statusNow(c: K8sClient, r: Ref, generation?: string | null): Promise<BackendStatus> {
  // Asked at once (one round trip, not two or three); the pods and runs of a missing workload are not looked at.
  const [w, all, jobs] = await Promise.all([
    readWorkload(c, r),
    podsOf(c, r),
    r.kind === 'cronjob'
      ? c
          .call(() => c.batch.listNamespacedJob({ namespace: r.namespace, labelSelector: envSelector(r) }))
          .then((l) => l.items)
      : [],
  ]);
  if (!w) return { state: 'missing' };
  const pods =
    generation === undefined
      ? all
      : all.filter((p) => (p.metadata?.annotations?.[RESTARTED_ANNOTATION] ?? null) === generation);
  return explainPending(c, workloadStatus(r.kind, w, pods, jobs), pods);
}

/** Workloads across namespaces matching the selector, as managed objects (a CronJob's runs are part of it). */
export async function listWhere(
  c: K8sClient,
  labelSelector: string,
  kinds: readonly WorkloadKind[] = WORKLOAD_KINDS,
): Promise<ManagedObject[]> {
  const none = Promise.resolve({ items: [] as WorkloadLike[] });
  const [deps, sets, jobs, crons] = await Promise.all([
    kinds.includes('deployment') ? c.call(() => c.apps.listDeploymentForAllNamespaces({ labelSelector })) : none,
    kinds.includes('statefulset') ? c.call(() => c.apps.listStatefulSetForAllNamespaces({ labelSelector })) : none,
    kinds.includes('job') ? c.call(() => c.batch.listJobForAllNamespaces({ labelSelector })) : none,
    kinds.includes('cronjob') ? c.call(() => c.batch.listCronJobForAllNamespaces({ labelSelector })) : none,
  ]);
  const out: ManagedObject[] = [];
  const add = (kind: WorkloadKind, w: WorkloadLike) => {
    if (w.metadata?.deletionTimestamp) return;
    // A CronJob's runs carry its env's labels but are part of it, not objects of their own.
    if (w.metadata?.ownerReferences?.some((o) => o.kind === 'CronJob')) return;
    const envId = w.metadata?.labels?.[LABELS.envId];
    if (!envId) return;
    out.push({
      ref: formatRef({ namespace: w.metadata!.namespace!, kind, name: w.metadata!.name!, envId }),
      envId,
      ...listState(kind, w),
    });
  };
  for (const d of deps.items) add('deployment', d);
  for (const s of sets.items) add('statefulset', s);
  for (const j of jobs.items) add('job', j);
  for (const cj of crons.items) add('cronjob', cj);
  return out;
}

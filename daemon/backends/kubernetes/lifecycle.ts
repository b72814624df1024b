// Start, stop, restart and delete of an env's workload.
import type { V1Job } from '@kubernetes/client-node';
import { LABELS } from '../../contract';
import { pollUntil, sleep } from '../shared/poll';
import { parseRef, statusOf, unless, type Ref } from './api';
import type { K8sClient } from './client';
import { RESTARTED_ANNOTATION, STARTED_ANNOTATION } from './conventions';
import { envSelector, finished, patchWorkload, readWorkload } from './workloads';

/** Labels and fields the Job controller adds to a Job it accepted: dropped when the Job is made again. */
const JOB_CONTROLLER_LABELS = [
  'controller-uid',
  'batch.kubernetes.io/controller-uid',
  'job-name',
  'batch.kubernetes.io/job-name',
];
const isBatch = (r: Ref) => r.kind === 'job' || r.kind === 'cronjob';

/** Deployment/StatefulSet: one replica; Job/CronJob: resumed (a Job that already ended runs again). */
export async function start(c: K8sClient, ref: string): Promise<void> {
  const r = parseRef(ref);
  const started = { metadata: { annotations: { [STARTED_ANNOTATION]: 'true' } } };
  if (r.kind === 'job') {
    const j = await readWorkload(c, r);
    if (j && finished(j)) return rerunJob(c, r);
  }
  await patchWorkload(c, r, { ...started, spec: isBatch(r) ? { suspend: false } : { replicas: 1 } });
}

/** A Job runs once: running it again means making it again, from its own template. */
async function rerunJob(c: K8sClient, r: Ref): Promise<void> {
  const old = (await c.call(() => c.batch.readNamespacedJob({ name: r.name, namespace: r.namespace }))) as V1Job;
  const template = old.spec!.template;
  for (const l of JOB_CONTROLLER_LABELS) delete template.metadata?.labels?.[l];
  const body: V1Job = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: r.name,
      namespace: r.namespace,
      labels: old.metadata?.labels,
      annotations: { ...old.metadata?.annotations, [STARTED_ANNOTATION]: 'true' },
    },
    spec: { suspend: false, backoffLimit: old.spec?.backoffLimit, template },
  };
  await c
    .call(() => c.batch.deleteNamespacedJob({ name: r.name, namespace: r.namespace, propagationPolicy: 'Background' }))
    .catch(unless(404));
  for (let i = 0; ; i++) {
    try {
      await c.call(() => c.batch.createNamespacedJob({ namespace: r.namespace, body }));
      return;
    } catch (err) {
      // The old Job is still being removed: its name frees up in a moment.
      if (statusOf(err) !== 409 || i >= 100) c.refused('Job')(err);
      await sleep(100);
    }
  }
}

/** Scale to zero or suspend; a CronJob's runs in progress are removed too. Returns when no pod holds resources. */
export async function stop(c: K8sClient, ref: string, timeoutS: number): Promise<void> {
  const r = parseRef(ref);
  if (!(await readWorkload(c, r))) return;
  await patchWorkload(c, r, isBatch(r) ? { spec: { suspend: true } } : { spec: { replicas: 0 } });
  if (r.kind === 'cronjob') {
    const jobs = await c.call(() =>
      c.batch.listNamespacedJob({ namespace: r.namespace, labelSelector: envSelector(r) }),
    );
    for (const j of jobs.items.filter((x) => !finished(x))) {
      await c
        .call(() =>
          c.batch.deleteNamespacedJob({
            name: j.metadata!.name!,
            namespace: r.namespace,
            propagationPolicy: 'Background',
          }),
        )
        .catch(unless(404));
    }
  }
  // Stopped = no pod holds the GPUs any more (the pods' grace period is theirs; we wait a bit beyond it).
  const settled = await pollUntil(
    async () => {
      const left = await c.call(() =>
        c.core.listNamespacedPod({ namespace: r.namespace, labelSelector: envSelector(r) }),
      );
      return left.items.every((p) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') || undefined;
    },
    { timeoutMs: (timeoutS + 20) * 1000, intervalMs: 250 },
  );
  if (!settled) c.log.warn({ ref }, 'pods still terminating after stop');
}

export async function restart(c: K8sClient, ref: string): Promise<void> {
  const r = parseRef(ref);
  const w = await readWorkload(c, r);
  if (!w) throw c.gone(`${r.kind} ${r.namespace}/${r.name}`);
  if (r.kind === 'job') return rerunJob(c, r);
  if (r.kind === 'cronjob') return start(c, ref); // its runs are its schedule's: restart = make sure it is resumed
  // A new template annotation rolls the pod (Recreate / StatefulSet rolling update: old pod first, then new).
  await patchWorkload(c, r, {
    metadata: { annotations: { [STARTED_ANNOTATION]: 'true' } },
    spec: {
      replicas: 1,
      template: { metadata: { annotations: { [RESTARTED_ANNOTATION]: new Date().toISOString() } } },
    },
  });
}

/** Everything carrying the env's id and this gateway's label; the namespace and its shared policy stay. */
export async function remove(c: K8sClient, ref: string): Promise<void> {
  const r = parseRef(ref);
  const labelSelector = `${LABELS.envId}=${r.envId},${LABELS.gateway}=${c.o.gatewayId}`;
  const namespace = r.namespace;
  const each = async <T extends { metadata?: { name?: string } }>(
    list: () => Promise<{ items: T[] }>,
    del: (name: string) => Promise<unknown>,
  ) => {
    for (const o of (await c.call(list)).items) await c.call(() => del(o.metadata!.name!)).catch(unless(404));
  };
  const opts = { namespace, propagationPolicy: 'Background' };
  // Workloads first (their pods and a CronJob's Jobs go with them), then what they used.
  await each(
    () => c.batch.listNamespacedCronJob({ namespace, labelSelector }),
    (name) => c.batch.deleteNamespacedCronJob({ ...opts, name }),
  );
  await each(
    () => c.batch.listNamespacedJob({ namespace, labelSelector }),
    (name) => c.batch.deleteNamespacedJob({ ...opts, name }),
  );
  await each(
    () => c.apps.listNamespacedDeployment({ namespace, labelSelector }),
    (name) => c.apps.deleteNamespacedDeployment({ ...opts, name }),
  );
  await each(
    () => c.apps.listNamespacedStatefulSet({ namespace, labelSelector }),
    (name) => c.apps.deleteNamespacedStatefulSet({ ...opts, name }),
  );
  await each(
    () => c.core.listNamespacedService({ namespace, labelSelector }),
    (name) => c.core.deleteNamespacedService({ namespace, name }),
  );
  await each(
    () => c.core.listNamespacedSecret({ namespace, labelSelector }),
    (name) => c.core.deleteNamespacedSecret({ namespace, name }),
  );
  await each(
    () => c.net.listNamespacedNetworkPolicy({ namespace, labelSelector }),
    (name) => c.net.deleteNamespacedNetworkPolicy({ namespace, name }),
  );
  // The StatefulSet's retention policy deletes its claims too; this also covers clusters without that feature.
  await each(
    () => c.core.listNamespacedPersistentVolumeClaim({ namespace, labelSelector }),
    (name) => c.core.deleteNamespacedPersistentVolumeClaim({ namespace, name }),
  );
}

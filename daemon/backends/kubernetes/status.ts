// Kubernetes objects → the env's BackendStatus. Pure, shared by inspect() (objects read from the API) and the
// watch (objects from its caches: raw JSON, so only strings and numbers are read here, never Date fields).
import type { V1Pod } from '@kubernetes/client-node';
import type { BackendState, BackendStatus } from '../../contract';
import { STARTED_ANNOTATION, type WorkloadKind } from './conventions';

/** Container waiting reasons that won't fix themselves. */
const FATAL_WAITING = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'CrashLoopBackOff',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
  'ErrImageNeverPull',
]);

/** The fields read from a Deployment, StatefulSet, Job or CronJob. */
export interface WorkloadLike {
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: unknown;
    ownerReferences?: { kind?: string }[];
  };
  spec?: { replicas?: number; suspend?: boolean; schedule?: string };
  status?: {
    readyReplicas?: number;
    ready?: number;
    active?: number | unknown[];
    conditions?: { type?: string; status?: string; reason?: string; message?: string }[];
    lastScheduleTime?: unknown;
  };
}

const condition = (w: WorkloadLike | undefined, type: string) =>
  w?.status?.conditions?.find((c) => c.type === type && c.status === 'True');
const started = (w: WorkloadLike) => Boolean(w.metadata?.annotations?.[STARTED_ANNOTATION]);
const text = (v: unknown) => (v instanceof Date ? v.toISOString() : v ? String(v) : '');

export const alive = (p: V1Pod) => !p.metadata?.deletionTimestamp;
export const isReady = (p: V1Pod) =>
  p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
const terminated = (p: V1Pod) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';

/** Why a pod can't become Ready (and won't by waiting), or undefined. */
export function podFailure(p: V1Pod): string | undefined {
  if (p.status?.phase === 'Failed')
    return `pod ${p.metadata?.name} failed: ${p.status.message ?? p.status.reason ?? containerExit(p) ?? 'no reason given'}`;
  for (const cs of p.status?.containerStatuses ?? []) {
    const w = cs.state?.waiting;
    if (w?.reason && FATAL_WAITING.has(w.reason))
      return `pod ${p.metadata?.name}: ${w.reason}${w.message ? `: ${w.message}` : ''}`;
  }
  return undefined;
}

function containerExit(p: V1Pod): string | undefined {
  const t = p.status?.containerStatuses?.find((c) => c.state?.terminated)?.state?.terminated;
  return t ? `${t.reason ?? 'exited'} (exit code ${t.exitCode})${t.message ? `: ${t.message}` : ''}` : undefined;
}

/** The scheduler's message when the pod can't be placed (PodScheduled=False, Unschedulable). */
export function unschedulable(p: V1Pod): string | undefined {
  const c = p.status?.conditions?.find((x) => x.type === 'PodScheduled');
  if (c?.status === 'False' && c.reason === 'Unschedulable') return c.message || 'no node fits';
  return undefined;
}

/** What the live, non-terminated pods say: running, failed, pending (unschedulable) or created. */
export function podsStatus(pods: V1Pod[]): BackendStatus {
  const live = pods.filter((p) => alive(p) && !terminated(p));
  const ready = live.find(isReady);
  if (ready) return { state: 'running', startedAt: text(ready.status?.startTime) };
  for (const p of pods.filter(alive)) {
    const failure = podFailure(p);
    if (failure) return { state: 'failed', message: failure };
  }
  for (const p of live) {
    const why = unschedulable(p);
    // Not "failed": capacity may come back (a pod ends, a node joins); the env waits and says why.
    if (why) return { state: 'pending', message: `pod ${p.metadata?.name} is Pending: ${why}` };
  }
  const running = live.find((p) => p.status?.phase === 'Running');
  if (running) return { state: 'running', message: `pod ${running.metadata?.name} is not Ready yet` };
  return {
    state: 'created',
    message: live.length ? `pod ${live[0].metadata?.name} is ${live[0].status?.phase ?? 'Pending'}` : 'no pod yet',
  };
}

/** A finished Job: Complete → stopped ("completed"), Failed → failed with the reason; else undefined. */
export function jobOutcome(job: WorkloadLike, pods: V1Pod[] = []): BackendStatus | undefined {
  if (condition(job, 'Complete')) return { state: 'stopped', message: 'completed' };
  const failed = condition(job, 'Failed');
  if (!failed) return undefined;
  const pod = pods.find((p) => p.status?.phase === 'Failed');
  const why = pod ? (containerExit(pod) ?? pod.status?.reason) : undefined;
  return {
    state: 'failed',
    message: `${failed.reason ?? 'Failed'}: ${failed.message ?? 'the job failed'}${why ? ` (pod ${pod!.metadata?.name}: ${why})` : ''}`,
  };
}

/** The env's status from its workload, its pods and (CronJob) the Jobs it made. */
export function workloadStatus(
  kind: WorkloadKind,
  w: WorkloadLike | undefined,
  pods: V1Pod[],
  jobs: WorkloadLike[] = [],
): BackendStatus {
  if (!w || w.metadata?.deletionTimestamp) return { state: 'missing' };
  if (kind === 'job') {
    const outcome = jobOutcome(w, pods);
    if (outcome) return outcome;
    if (w.spec?.suspend) return { state: started(w) ? 'stopped' : 'created' };
    return podsStatus(pods);
  }
  if (kind === 'cronjob') {
    if (w.spec?.suspend) return { state: started(w) ? 'stopped' : 'created' };
    // Resumed = running: it runs on its schedule. A run that can't be placed makes it pending.
    const now = podsStatus(pods);
    if (now.state === 'pending') return now;
    const last = [...jobs].sort((a, b) => text(b.metadata?.name).localeCompare(text(a.metadata?.name)))[0];
    const outcome = last && jobOutcome(last);
    const lastRun = w.status?.lastScheduleTime
      ? `; last run ${text(w.status.lastScheduleTime)}${outcome ? ` ${outcome.state === 'stopped' ? 'completed' : `failed: ${outcome.message}`}` : ''}`
      : '';
    return {
      state: 'running',
      message: `${now.state === 'running' ? 'a run is active' : 'waiting for its schedule'} (${w.spec?.schedule ?? '?'})${lastRun}`,
    };
  }
  if ((w.spec?.replicas ?? 1) === 0) return { state: started(w) ? 'stopped' : 'created' };
  const st = podsStatus(pods);
  // Pods the controller can't even create (a ResourceQuota or LimitRange refusing them) leave no pod to ask.
  const refused = condition(w, 'ReplicaFailure');
  if (st.state === 'created' && refused)
    return { state: 'failed', message: `${refused.reason ?? 'ReplicaFailure'}: ${refused.message ?? ''}` };
  return st;
}

/** A cheap state from the workload alone (list(): reconcile compares it with the rows). */
export function listState(kind: WorkloadKind, w: WorkloadLike): { state: BackendState; message?: string } {
  if (kind === 'job') {
    const outcome = jobOutcome(w);
    if (outcome) return { state: outcome.state, message: outcome.message };
    if (w.spec?.suspend) return { state: started(w) ? 'stopped' : 'created' };
    return { state: (w.status?.ready ?? 0) > 0 ? 'running' : 'created' };
  }
  if (kind === 'cronjob') return w.spec?.suspend ? { state: started(w) ? 'stopped' : 'created' } : { state: 'running' };
  const replicas = w.spec?.replicas ?? 1;
  if (replicas === 0) return { state: started(w) ? 'stopped' : 'created' };
  return { state: (w.status?.readyReplicas ?? 0) > 0 ? 'running' : 'created' };
}

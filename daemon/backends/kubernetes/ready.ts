// waitReady: follows one env (watches on its pods and its workload) until it is Ready or settles otherwise.
import { Watch, type V1Pod } from '@kubernetes/client-node';
import { BackendUnavailableError, UnprocessableError } from '../../errors';
import type { BackendStatus } from '../../contract';
import { isUnreachable, parseRef, type Ref } from './api';
import type { K8sClient } from './client';
import { RESTARTED_ANNOTATION } from './conventions';
import { envSelector, readWorkload, statusNow } from './workloads';

/** What a status means for a wait: done (with what to return), failed, or keep waiting. */
function verdict(c: K8sClient, r: Ref, last: BackendStatus): { done: BackendStatus | void } | undefined {
  const s = last.state;
  if (s === 'missing') throw c.gone(`${r.kind} ${r.namespace}/${r.name}`);
  if (s === 'running' && (!last.message || r.kind === 'cronjob'))
    return { done: r.kind === 'cronjob' ? last : undefined };
  if (s === 'stopped' && r.kind === 'job') return { done: last };
  if (s === 'failed') {
    if (r.kind === 'job' || r.kind === 'cronjob') return { done: last }; // it ran: keep it (and its logs), say why
    throw new UnprocessableError(last.message ?? 'failed');
  }
  return undefined;
}

/** Settles early, returning the status, for a pod the scheduler can't place for longer than the grace period
 *  ('pending'), a CronJob that waits for its schedule, a Job that already ended. A container that can't start
 *  (image pull, crash loop) or a workload whose pods are refused: UnprocessableError with the reason. */
export async function waitReady(c: K8sClient, ref: string, signal?: AbortSignal): Promise<BackendStatus | void> {
  const r = parseRef(ref);
  const w = await readWorkload(c, r);
  if (!w) throw c.gone(`${r.kind} ${r.namespace}/${r.name}`);
  const generation = templateGeneration(r, w);
  const graceMs = c.o.unschedulableGraceMs ?? 5000;
  const limitMs = c.o.readyTimeoutMs ?? 300_000;
  const deadline = Date.now() + limitMs;
  const news = new News(r, generation);
  const stop = follow(c, r, news.onEvent, news.onLost);
  const onAbort = () => news.wake();
  signal?.addEventListener('abort', onAbort);
  try {
    let pendingSince: number | undefined;
    let last: BackendStatus | undefined;
    for (;;) {
      if (signal?.aborted) throw new Error('aborted');
      if (news.lost) throw news.lost;
      if (news.ready) return;
      if (news.changed) {
        news.changed = false;
        // A Ready pod seen meanwhile answers at once (the read in flight is left to finish unheard).
        const now = statusNow(c, r, generation);
        now.catch(() => undefined);
        const first = await Promise.race([now, news.seenReady]);
        if (first === 'ready') return;
        last = first;
        const v = verdict(c, r, last);
        if (v) return v.done;
        pendingSince = last.state === 'pending' ? (pendingSince ?? Date.now()) : undefined;
      }
      if (pendingSince !== undefined && Date.now() - pendingSince >= graceMs) return last;
      if (Date.now() > deadline)
        throw new UnprocessableError(
          `no pod of '${r.name}' became Ready within ${Math.round(limitMs / 1000)} s${last?.message ? `: ${last.message}` : ''}`,
        );
      // Events wake this up; the timer is a backstop for a missed one and ends the grace period.
      const nap = Math.min(
        2000,
        pendingSince !== undefined ? graceMs - (Date.now() - pendingSince) : 2000,
        deadline - Date.now(),
      );
      await news.nap(nap);
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    stop();
  }
}

/** The pod-template generation waitReady accepts pods of: RESTARTED_ANNOTATION's value (null before any restart)
 *  for Deployments and StatefulSets; undefined (any pod) for Jobs and CronJobs. */
function templateGeneration(r: Ref, w: unknown): string | null | undefined {
  if (r.kind !== 'deployment' && r.kind !== 'statefulset') return undefined;
  const template = (w as { spec?: { template?: { metadata?: { annotations?: Record<string, string> } } } }).spec
    ?.template;
  return template?.metadata?.annotations?.[RESTARTED_ANNOTATION] ?? null;
}

/** What the watches said during one wait: something changed (look again), a Ready pod, a watch lost. */
class News {
  changed = true;
  ready = false;
  lost: Error | undefined;
  readonly seenReady: Promise<'ready'>;
  private seen = () => undefined as void;
  private wakeUp = () => undefined as void;

  constructor(
    private readonly r: Ref,
    private readonly generation: string | null | undefined,
  ) {
    this.seenReady = new Promise((res) => (this.seen = () => res('ready')));
  }

  readonly onEvent = (pod?: V1Pod): void => {
    if (readyPod(this.r, this.generation, pod)) {
      this.ready = true;
      this.seen();
    }
    this.changed = true;
    this.wakeUp();
  };

  readonly onLost = (err: Error): void => {
    this.lost = err;
    this.wakeUp();
  };

  wake(): void {
    this.wakeUp();
  }

  /** Sleeps ms (then looks again anyway), or until an event. */
  nap(ms: number): Promise<void> {
    return sleepUnlessWoken(
      ms,
      () => (this.changed = true),
      (w) => (this.wakeUp = w),
    );
  }
}

/** Waits ms (then onTimeout), or less if the wake function handed to setWake is called first. */
function sleepUnlessWoken(ms: number, onTimeout: () => void, setWake: (wake: () => void) => void): Promise<void> {
  return new Promise<void>((res) => {
    const t = setTimeout(
      () => {
        onTimeout();
        res();
      },
      Math.max(0, ms),
    );
    setWake(() => {
      clearTimeout(t);
      res();
    });
  });
}

/** A Ready pod of the current template, as a pod watch shows it: a Deployment's or StatefulSet's env (one
 *  replica) is running without another read (the event is newer than any read would be). */
function readyPod(r: Ref, generation: string | null | undefined, pod: V1Pod | undefined): boolean {
  if (!pod || (r.kind !== 'deployment' && r.kind !== 'statefulset') || pod.metadata?.deletionTimestamp) return false;
  if ((pod.metadata?.annotations?.[RESTARTED_ANNOTATION] ?? null) !== generation) return false;
  return pod.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True') ?? false;
}

/** Watches the env's pods and its workload's collection in its namespace; onEvent on every change (with the pod,
 *  for a pod's event). */
function follow(c: K8sClient, r: Ref, onEvent: (pod?: V1Pod) => void, onLost: (err: Error) => void): () => void {
  const labelSelector = envSelector(r);
  const paths = [
    `/api/v1/namespaces/${r.namespace}/pods`,
    {
      deployment: `/apis/apps/v1/namespaces/${r.namespace}/deployments`,
      statefulset: `/apis/apps/v1/namespaces/${r.namespace}/statefulsets`,
      job: `/apis/batch/v1/namespaces/${r.namespace}/jobs`,
      cronjob: `/apis/batch/v1/namespaces/${r.namespace}/jobs`,
    }[r.kind],
  ];
  const watch = new Watch(c.kc);
  const aborters: AbortController[] = [];
  let stopped = false;
  const lostAs = (err: unknown) =>
    isUnreachable(err) ? new BackendUnavailableError(c.id, (err as Error).message) : (err as Error);
  const open = (path: string) => {
    if (stopped) return;
    const pods = path === paths[0];
    watch
      .watch(
        path,
        { labelSelector },
        (type: string, obj: V1Pod) => onEvent(pods && type !== 'DELETED' ? obj : undefined),
        (err) => {
          if (stopped) return;
          if (err && isUnreachable(err)) return onLost(lostAs(err));
          if (err && (err as { name?: string }).name === 'AbortError') return;
          // The server ends watches after a while: watch again (and look again: something may have changed).
          onEvent();
          setTimeout(() => open(path), err ? 1000 : 0);
        },
      )
      .then(
        (a) => {
          aborters.push(a);
          if (stopped) a.abort();
        },
        (err) => onLost(lostAs(err)),
      );
  };
  for (const p of paths) open(p);
  return () => {
    stopped = true;
    for (const a of aborters) a.abort();
  };
}

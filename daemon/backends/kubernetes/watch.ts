// Status from watches: one informer (list + watch, client-node's ListWatch) per kind — pods, Deployments,
// StatefulSets, Jobs, CronJobs — over every namespace, selecting this gateway's and backend's labels. Each event
// recomputes the status of the env it belongs to from the caches (status.ts) and reports it when it changed.
//
// A watch that ends cleanly is resumed by ListWatch from its resourceVersion (nothing missed; a 410 re-lists).
// One that fails (API server gone, connection reset) is restarted here with backoff; once it has held for a
// moment, onResync() asks for a reconcile, since changes in the gap may have been missed.
import {
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  makeInformer,
  type Informer,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type V1Pod,
} from '@kubernetes/client-node';
import type { Logger } from '../../log';
import { LABELS, type BackendStatus } from '../../contract';
import type { WorkloadKind } from './conventions';
import { workloadStatus, type WorkloadLike } from './status';

type Kind = WorkloadKind | 'pod';

export interface EnvWatchOptions {
  kc: KubeConfig;
  labelSelector: string;
  log: Logger;
  onChange: (envId: string, status: BackendStatus) => void;
  onResync: () => void;
  /** Restart delays after a failed watch: doubles from min to max. */
  backoffMs?: { min: number; max: number };
}

interface EnvObjects {
  workloads: Map<string, { kind: WorkloadKind; obj: WorkloadLike }>;
  pods: Map<string, V1Pod>;
  jobs: Map<string, WorkloadLike>;
}

const keyOf = (kind: Kind, o: KubernetesObject) => `${kind}/${o.metadata?.namespace}/${o.metadata?.name}`;
const ownedByCronJob = (o: WorkloadLike) => o.metadata?.ownerReferences?.some((r) => r.kind === 'CronJob') ?? false;

export class EnvWatch {
  private readonly informers = new Map<Kind, Informer<KubernetesObject>>();
  private readonly synced = new Set<Kind>();
  private readonly envs = new Map<string, EnvObjects>();
  /** What was last reported per env (state + message), so only changes go out. */
  private readonly reported = new Map<string, string>();
  private readonly dirty = new Set<string>();
  private flushTimer?: NodeJS.Timeout;
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly o: EnvWatchOptions) {}

  start(): void {
    const core = this.o.kc.makeApiClient(CoreV1Api);
    const apps = this.o.kc.makeApiClient(AppsV1Api);
    const batch = this.o.kc.makeApiClient(BatchV1Api);
    const labelSelector = this.o.labelSelector;
    const sources: [Kind, string, () => Promise<KubernetesListObject<KubernetesObject>>][] = [
      ['pod', '/api/v1/pods', () => core.listPodForAllNamespaces({ labelSelector })],
      ['deployment', '/apis/apps/v1/deployments', () => apps.listDeploymentForAllNamespaces({ labelSelector })],
      ['statefulset', '/apis/apps/v1/statefulsets', () => apps.listStatefulSetForAllNamespaces({ labelSelector })],
      ['job', '/apis/batch/v1/jobs', () => batch.listJobForAllNamespaces({ labelSelector })],
      ['cronjob', '/apis/batch/v1/cronjobs', () => batch.listCronJobForAllNamespaces({ labelSelector })],
    ];
    for (const [kind, path, list] of sources) this.watchKind(kind, path, list);
  }

  stop(): void {
    this.closed = true;
    clearTimeout(this.flushTimer);
    for (const t of this.timers) clearTimeout(t);
    for (const inf of this.informers.values()) void inf.stop();
  }

  private later(fn: () => void, ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.closed) fn();
    }, ms);
    t.unref();
    this.timers.add(t);
  }

  private watchKind(kind: Kind, path: string, list: () => Promise<KubernetesListObject<KubernetesObject>>): void {
    const { min, max } = this.o.backoffMs ?? { min: 1000, max: 30_000 };
    let delay = min;
    let dropped = false;
    let generation = 0;
    const listed = async () => {
      const l = await list();
      // The informer adds the listed objects right after this returns; the flush runs later, on a timer.
      if (!this.synced.has(kind)) {
        this.synced.add(kind);
        this.markAll();
      }
      return l;
    };
    const inf = makeInformer(this.o.kc, path, listed, this.o.labelSelector);
    this.informers.set(kind, inf);
    inf.on('add', (obj) => this.upsert(kind, obj));
    inf.on('update', (obj) => this.upsert(kind, obj));
    inf.on('delete', (obj) => this.remove(kind, obj));
    inf.on('connect', () => {
      if (!dropped) return;
      const g = ++generation;
      // Held for a second without a new error: reconnected. Reconcile what the gap may have hidden.
      this.later(() => {
        if (g !== generation || !dropped) return;
        dropped = false;
        delay = min;
        this.o.log.info({ kind }, 'watch re-established');
        this.o.onResync();
      }, 1000);
    });
    inf.on('error', (err) => {
      if (this.closed) return;
      generation++;
      dropped = true;
      this.o.log.warn({ kind, err: (err as Error)?.message ?? String(err), retryInMs: delay }, 'watch dropped');
      this.later(() => void inf.start().catch(() => undefined), delay);
      delay = Math.min(max, delay * 2);
    });
    void inf.start().catch(() => undefined);
  }

  private bucket(envId: string): EnvObjects {
    let b = this.envs.get(envId);
    if (!b) this.envs.set(envId, (b = { workloads: new Map(), pods: new Map(), jobs: new Map() }));
    return b;
  }

  private upsert(kind: Kind, obj: KubernetesObject): void {
    const envId = obj.metadata?.labels?.[LABELS.envId];
    if (!envId) return;
    const b = this.bucket(envId);
    const key = keyOf(kind, obj);
    if (kind === 'pod') b.pods.set(key, obj as V1Pod);
    else if (kind === 'job' && ownedByCronJob(obj as WorkloadLike)) b.jobs.set(key, obj as WorkloadLike);
    else b.workloads.set(key, { kind, obj: obj as WorkloadLike });
    this.mark(envId);
  }

  private remove(kind: Kind, obj: KubernetesObject): void {
    const envId = obj.metadata?.labels?.[LABELS.envId];
    const b = envId ? this.envs.get(envId) : undefined;
    if (!envId || !b) return;
    const key = keyOf(kind, obj);
    b.pods.delete(key);
    b.jobs.delete(key);
    b.workloads.delete(key);
    this.mark(envId);
  }

  private markAll(): void {
    for (const id of this.envs.keys()) this.mark(id);
  }

  private mark(envId: string): void {
    this.dirty.add(envId);
    if (this.flushTimer || this.closed) return;
    // Events come in bursts (a pod and its owner): compute once per burst.
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.flush();
    }, 20);
    this.flushTimer.unref();
  }

  private flush(): void {
    // Until every kind has been listed once, a missing owner may only be not yet seen.
    if (this.synced.size < this.informers.size) return;
    const ids = [...this.dirty];
    this.dirty.clear();
    for (const envId of ids) {
      const b = this.envs.get(envId);
      if (!b) continue;
      const w = [...b.workloads.values()][0];
      const status: BackendStatus = w
        ? workloadStatus(w.kind, w.obj, [...b.pods.values()], [...b.jobs.values()])
        : { state: 'missing' };
      if (!w && b.pods.size === 0 && b.jobs.size === 0) this.envs.delete(envId);
      const sig = `${status.state}|${status.message ?? ''}`;
      if (this.reported.get(envId) === sig) continue;
      // An env never seen with its workload isn't reported missing (reconcile knows about rows we never saw).
      if (status.state === 'missing' && !this.reported.has(envId)) continue;
      if (status.state === 'missing') this.reported.delete(envId);
      else this.reported.set(envId, sig);
      try {
        this.o.onChange(envId, status);
      } catch (err) {
        this.o.log.error({ env: envId, err: String(err) }, 'status change not handled');
      }
    }
  }
}

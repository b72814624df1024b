// Kubernetes backend (@kubernetes/client-node 1.x): per environment a Deployment (k8s_pod) or StatefulSet
// (k8s_stateful), scaled 1/0 by start/stop, or a Job (k8s_job) / CronJob (k8s_cronjob), suspended/resumed by
// stop/start; in a namespace per user (or per team). The scheduler places GPUs (the daemon does not allocate them:
// GpuService.allocates() is false for kind kubernetes). Objects: manifests.ts; status: status.ts (from watches,
// watch.ts); GPUs: inventory.ts; refs and API errors: api.ts.
import { Duplex, PassThrough, Writable, type Readable } from 'node:stream';
import {
  AppsV1Api, BatchV1Api, CoreV1Api, Exec, KubeConfig, Log, NetworkingV1Api, PortForward, VersionApi, Watch,
  type V1Job, type V1Pod, type V1Status, type V1Toleration,
} from '@kubernetes/client-node';
import type { BackendInfo, ExposedService, PullPolicy } from '../../../common/model';
import { BackendUnavailableError, UnprocessableError } from '../../errors';
import { answerWithin } from '../answerWithin';
import type { Logger } from '../../log';
import type { GpuDevice } from '../../gpu/types';
import {
  LABELS, type BackendStatus, type BootFile, type Driver, type EnvSpec, type ExecResult,
  type LogOptions, type ManagedObject, type ProgressFn,
} from '../driver';
import { apiMessage, errCode, formatRef, isUnreachable, MERGE, parseRef, statusOf, type Ref } from './api';
import { clusterGpus } from './inventory';
import {
  bootKey, bootSecret, CONTAINER, cronJob, deployment, GPU_PRODUCT_LABEL, job, MODES_KEY, modesText, namespaceFor, parseModes,
  networkPolicy, objectName, podTemplate, PUBLIC_SUFFIX, publicPolicy, publicService, PULL_POLICY, RESTARTED_ANNOTATION, service,
  STARTED_ANNOTATION, statefulSet, teamNamespace, WORKLOAD_KINDS, workloadKind, type K8sOptions, type Placement, type WorkloadKind,
} from './manifests';
import { alive, listState, workloadStatus, type WorkloadLike } from './status';
import { EnvWatch } from './watch';

export { apiMessage, isUnreachable, parseRef, statusOf } from './api';

export interface KubernetesDriverOptions {
  id: string;
  kubeconfig?: string;
  context?: string;
  namespace_policy: 'per-user' | 'per-team';
  namespace_prefix: string;
  image_pull_secrets: string[];
  storage_class?: string;
  /** Tolerations of GPU pods (default: nvidia.com/gpu NoSchedule). */
  gpu_tolerations?: V1Toleration[];
  gatewayId: string;
  log: Logger;
  /** How long a pod may stay Unschedulable before waitReady settles for 'pending' (the watch takes over). */
  unschedulableGraceMs?: number;
  /** waitReady's overall limit (image pulls included). */
  readyTimeoutMs?: number;
  /** Restart delays of a failed status watch. */
  watchBackoffMs?: { min: number; max: number };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const finished = (j: WorkloadLike) => j.status?.conditions?.some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True') ?? false;
/** Labels and fields the Job controller adds to a Job it accepted: dropped when the Job is made again. */
/** On a per-team namespace (the per-user ones carry dev.hangar.owner). */
export const TEAM_LABEL = 'dev.hangar.team';
const JOB_CONTROLLER_LABELS = ['controller-uid', 'batch.kubernetes.io/controller-uid', 'job-name', 'batch.kubernetes.io/job-name'];

export class KubernetesDriver implements Driver {
  readonly kind = 'kubernetes' as const;
  readonly id: string;
  private readonly kc = new KubeConfig();
  private readonly core: CoreV1Api;
  private readonly apps: AppsV1Api;
  private readonly batch: BatchV1Api;
  private readonly net: NetworkingV1Api;
  private readonly version: VersionApi;
  private readonly k8s: K8sOptions;
  private readonly server: string;
  private readonly watches = new Set<EnvWatch>();

  constructor(private readonly o: KubernetesDriverOptions) {
    this.id = o.id;
    if (o.kubeconfig) this.kc.loadFromFile(o.kubeconfig);
    else this.kc.loadFromCluster();
    if (o.context) this.kc.setCurrentContext(o.context);
    this.server = this.kc.getCurrentCluster()?.server ?? '(in-cluster)';
    this.core = this.kc.makeApiClient(CoreV1Api);
    this.apps = this.kc.makeApiClient(AppsV1Api);
    this.batch = this.kc.makeApiClient(BatchV1Api);
    this.net = this.kc.makeApiClient(NetworkingV1Api);
    this.version = this.kc.makeApiClient(VersionApi);
    this.k8s = {
      gatewayId: o.gatewayId, backendId: o.id, namespacePrefix: o.namespace_prefix, imagePullSecrets: o.image_pull_secrets,
      storageClass: o.storage_class, gpuTolerations: o.gpu_tolerations,
    };
  }

  /** Runs an API call; a connection failure becomes BackendUnavailableError naming this backend. */
  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (isUnreachable(err)) throw new BackendUnavailableError(this.id, `${errCode(err) ?? 'unreachable'}: ${(err as Error).message}`);
      throw err;
    }
  }

  /** Like call(), and a 404 answers undefined. */
  private async maybe<T>(fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await this.call(fn);
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  /** A refusal by the API server (admission, validation, RBAC) as a 422 with its own message. */
  private refused(what: string) {
    return (err: unknown): never => {
      if (statusOf(err) === 422 || statusOf(err) === 400 || statusOf(err) === 403) {
        throw new UnprocessableError(`backend '${this.id}' refused the ${what}: ${apiMessage(err)}`, 'backend_refused');
      }
      throw err;
    };
  }

  private ownSelector(): string {
    return `${LABELS.managed}=true,${LABELS.gateway}=${this.o.gatewayId},${LABELS.backend}=${this.id}`;
  }

  async info(): Promise<BackendInfo> {
    const base = { id: this.id, kind: this.kind, url: this.server };
    try {
      const v = await answerWithin(this.id, 5000, this.call(() => this.version.getCode()));
      return { ...base, available: true, version: `${v.gitVersion} (${v.platform})` };
    } catch (err) {
      if (err instanceof BackendUnavailableError) throw err;
      // Answered, but not with a version (TLS/auth failure, proxy error): not usable either.
      throw new BackendUnavailableError(this.id, apiMessage(err));
    }
  }

  /** The kubelet pulls; only the policy is checked here (it maps to imagePullPolicy). */
  async ensureImage(image: string, policy: PullPolicy, _onProgress?: ProgressFn, _signal?: AbortSignal): Promise<void> {
    if (!PULL_POLICY[policy]) throw new UnprocessableError(`image_pull_policy '${policy}' has no Kubernetes equivalent`);
    if (!image) throw new UnprocessableError('no image');
  }

  // ---- create ----------------------------------------------------------------------------------------------

  /** per-user: hangar-<owner>; per-team: hangar-team-<team> for users with a team (others keep their own). */
  private namespaceOf(spec: EnvSpec): string {
    if (this.o.namespace_policy === 'per-team' && spec.team) return teamNamespace(this.o.namespace_prefix, spec.team);
    return namespaceFor(this.o.namespace_prefix, spec.owner);
  }

  /** Namespaces seen ready (with their policy) in the last minute: preflight and create both ask. */
  private readonly namespacesSeen = new Map<string, number>();

  private async ensureNamespace(namespace: string, spec: EnvSpec): Promise<void> {
    if ((this.namespacesSeen.get(namespace) ?? 0) > Date.now() - 60_000) return;
    const ns = await this.maybe(() => this.core.readNamespace({ name: namespace }));
    if (ns?.status?.phase === 'Terminating') throw new UnprocessableError(`namespace '${namespace}' is being deleted on backend '${this.id}'; try again when it is gone`);
    if (!ns) {
      const whose: Record<string, string> = namespace === namespaceFor(this.o.namespace_prefix, spec.owner) ? { [LABELS.owner]: spec.owner } : { [TEAM_LABEL]: spec.team ?? '' };
      await this.call(() => this.core.createNamespace({
        body: { metadata: { name: namespace, labels: { [LABELS.managed]: 'true', [LABELS.gateway]: this.o.gatewayId, [LABELS.backend]: this.id, ...whose } } },
      })).catch((err) => { if (statusOf(err) !== 409) throw err; });
    }
    await this.call(() => this.net.createNamespacedNetworkPolicy({ namespace, body: networkPolicy(this.k8s, namespace) }))
      .catch((err) => { if (statusOf(err) !== 409) throw err; });
    this.namespacesSeen.set(namespace, Date.now());
  }

  /** gpu_model is a substring of the product name ("H100", "A100 80GB"): find the node label values it names. */
  private async placement(spec: EnvSpec): Promise<Placement> {
    const model = spec.gpuModel?.trim();
    if (!model || spec.gpus.mode === 'none') return {};
    let products: string[];
    try {
      const nodes = await this.call(() => this.core.listNode({ labelSelector: GPU_PRODUCT_LABEL }));
      products = [...new Set(nodes.items.map((n) => n.metadata?.labels?.[GPU_PRODUCT_LABEL]).filter((x): x is string => Boolean(x)))].sort();
    } catch (err) {
      if (statusOf(err) === 403) return { nodeSelector: { [GPU_PRODUCT_LABEL]: model } }; // may not list nodes: take it as the label value
      throw err;
    }
    const norm = (s: string) => s.toLowerCase().replace(/[\s_]+/g, '-');
    const match = products.filter((p) => norm(p).includes(norm(model)));
    if (match.length === 0) throw new UnprocessableError(`no node of backend '${this.id}' has GPU model '${model}' (${GPU_PRODUCT_LABEL}: ${products.join(', ') || 'none'})`);
    return match.length === 1 ? { nodeSelector: { [GPU_PRODUCT_LABEL]: match[0] } } : { products: match };
  }

  /** The pod as the API server's admission sees it (LimitRange, ResourceQuota, validation), without making it. */
  async preflight(spec: EnvSpec): Promise<void> {
    const kind = workloadKind(spec);
    const namespace = this.namespaceOf(spec);
    const template = podTemplate(spec, this.k8s, {}, kind);
    await this.ensureNamespace(namespace, spec);
    const pod: V1Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: objectName(spec), namespace, labels: template.metadata?.labels }, spec: template.spec };
    // A StatefulSet's pods get /home from its claim template; a stand-in volume for the dry run.
    if (kind === 'statefulset') pod.spec!.volumes = [...(pod.spec!.volumes ?? []), { name: 'home', emptyDir: {} }];
    await this.call(() => this.core.createNamespacedPod({ namespace, body: pod, dryRun: 'All' }))
      .catch((err) => { if (statusOf(err) !== 409) this.refused('pod')(err); });
  }

  async create(spec: EnvSpec): Promise<string> {
    const kind = workloadKind(spec);
    // Idempotent: an env's workload kind never changes, so only that kind is looked for.
    const [existing] = await this.listWhere(`${this.ownSelector()},${LABELS.envId}=${spec.envId}`, [kind]);
    if (existing) return existing.ref;
    const namespace = this.namespaceOf(spec);
    const name = objectName(spec);
    const placement = await this.placement(spec);
    // Build everything first: an unsupported spec fails before anything is made.
    const secret = bootSecret(spec, this.k8s, namespace);
    const svc = service(spec, this.k8s, namespace);
    const pub = publicService(spec, this.k8s, namespace);
    const pubPolicy = publicPolicy(spec, this.k8s, namespace);
    const workload = { deployment, statefulset: statefulSet, job, cronjob: cronJob }[kind](spec, this.k8s, namespace, placement);
    await this.ensureNamespace(namespace, spec);
    const ref = formatRef({ namespace, kind, name, envId: spec.envId });
    // 409: left by an earlier, interrupted create of this env. Kept, except the boot Secret: it holds the host
    // key, and a resumed create makes a new one.
    const keep = (what: string) => (err: unknown) => (statusOf(err) === 409 ? undefined : this.refused(what)(err));
    try {
      await this.call(() => this.core.createNamespacedSecret({ namespace, body: secret })).catch(async (err) => {
        if (statusOf(err) !== 409) return this.refused('Secret')(err);
        await this.call(() => this.core.replaceNamespacedSecret({ name: secret.metadata!.name!, namespace, body: secret }));
      });
      await this.call(() => this.core.createNamespacedService({ namespace, body: svc })).catch(keep('Service'));
      if (pub) await this.call(() => this.core.createNamespacedService({ namespace, body: pub })).catch(keep('public Service'));
      if (pubPolicy) await this.call(() => this.net.createNamespacedNetworkPolicy({ namespace, body: pubPolicy })).catch(keep('NetworkPolicy'));
      await this.call(() => this.createWorkload(kind, namespace, workload)).catch(keep(kind));
    } catch (err) {
      this.namespacesSeen.delete(namespace); // deleted behind our back? Look again next time.
      if (!(err instanceof BackendUnavailableError)) await this.delete(ref).catch(() => undefined);
      throw err;
    }
    return ref;
  }

  private createWorkload(kind: WorkloadKind, namespace: string, body: object): Promise<unknown> {
    switch (kind) {
      case 'deployment': return this.apps.createNamespacedDeployment({ namespace, body });
      case 'statefulset': return this.apps.createNamespacedStatefulSet({ namespace, body });
      case 'job': return this.batch.createNamespacedJob({ namespace, body });
      case 'cronjob': return this.batch.createNamespacedCronJob({ namespace, body });
    }
  }

  // ---- lifecycle -------------------------------------------------------------------------------------------

  private async readWorkload(r: Ref): Promise<WorkloadLike | undefined> {
    const a = { name: r.name, namespace: r.namespace };
    switch (r.kind) {
      case 'deployment': return this.maybe(() => this.apps.readNamespacedDeployment(a));
      case 'statefulset': return this.maybe(() => this.apps.readNamespacedStatefulSet(a));
      case 'job': return this.maybe(() => this.batch.readNamespacedJob(a));
      case 'cronjob': return this.maybe(() => this.batch.readNamespacedCronJob(a));
    }
  }

  private async patchWorkload(r: Ref, body: object): Promise<void> {
    const a = { name: r.name, namespace: r.namespace, body };
    const done = await this.maybe((): Promise<unknown> => {
      switch (r.kind) {
        case 'deployment': return this.apps.patchNamespacedDeployment(a, MERGE);
        case 'statefulset': return this.apps.patchNamespacedStatefulSet(a, MERGE);
        case 'job': return this.batch.patchNamespacedJob(a, MERGE);
        case 'cronjob': return this.batch.patchNamespacedCronJob(a, MERGE);
      }
    });
    if (!done) throw new UnprocessableError(`${r.kind} ${r.namespace}/${r.name} is gone from backend '${this.id}'`);
  }

  private async pods(r: Ref): Promise<V1Pod[]> {
    const list = await this.call(() => this.core.listNamespacedPod({ namespace: r.namespace, labelSelector: `${LABELS.envId}=${r.envId}` }));
    return list.items.filter(alive);
  }

  /** Deployment/StatefulSet: one replica; Job/CronJob: resumed (a Job that already ended runs again). */
  async start(ref: string): Promise<void> {
    const r = parseRef(ref);
    const started = { metadata: { annotations: { [STARTED_ANNOTATION]: 'true' } } };
    if (r.kind === 'job') {
      const j = await this.readWorkload(r);
      if (j && finished(j)) return this.rerunJob(r);
    }
    await this.patchWorkload(r, { ...started, spec: r.kind === 'job' || r.kind === 'cronjob' ? { suspend: false } : { replicas: 1 } });
  }

  /** A Job runs once: running it again means making it again, from its own template. */
  private async rerunJob(r: Ref): Promise<void> {
    const old = await this.call(() => this.batch.readNamespacedJob({ name: r.name, namespace: r.namespace })) as V1Job;
    const template = old.spec!.template;
    for (const l of JOB_CONTROLLER_LABELS) delete template.metadata?.labels?.[l];
    const body: V1Job = {
      apiVersion: 'batch/v1', kind: 'Job',
      metadata: { name: r.name, namespace: r.namespace, labels: old.metadata?.labels, annotations: { ...old.metadata?.annotations, [STARTED_ANNOTATION]: 'true' } },
      spec: { suspend: false, backoffLimit: old.spec?.backoffLimit, template },
    };
    await this.call(() => this.batch.deleteNamespacedJob({ name: r.name, namespace: r.namespace, propagationPolicy: 'Background' })).catch((err) => { if (statusOf(err) !== 404) throw err; });
    for (let i = 0; ; i++) {
      try {
        await this.call(() => this.batch.createNamespacedJob({ namespace: r.namespace, body }));
        return;
      } catch (err) {
        // The old Job is still being removed: its name frees up in a moment.
        if (statusOf(err) !== 409 || i >= 100) this.refused('Job')(err);
        await sleep(100);
      }
    }
  }

  /** Scale to zero or suspend; a CronJob's runs in progress are removed too. Returns when no pod holds resources. */
  async stop(ref: string, timeoutS: number): Promise<void> {
    const r = parseRef(ref);
    if (!(await this.readWorkload(r))) return;
    await this.patchWorkload(r, r.kind === 'job' || r.kind === 'cronjob' ? { spec: { suspend: true } } : { spec: { replicas: 0 } });
    if (r.kind === 'cronjob') {
      const jobs = await this.call(() => this.batch.listNamespacedJob({ namespace: r.namespace, labelSelector: `${LABELS.envId}=${r.envId}` }));
      for (const j of jobs.items.filter((x) => !finished(x))) {
        await this.call(() => this.batch.deleteNamespacedJob({ name: j.metadata!.name!, namespace: r.namespace, propagationPolicy: 'Background' })).catch((err) => { if (statusOf(err) !== 404) throw err; });
      }
    }
    // Stopped = no pod holds the GPUs any more (the pods' grace period is theirs; we wait a bit beyond it).
    const deadline = Date.now() + (timeoutS + 20) * 1000;
    while (Date.now() < deadline) {
      const left = await this.call(() => this.core.listNamespacedPod({ namespace: r.namespace, labelSelector: `${LABELS.envId}=${r.envId}` }));
      if (left.items.every((p) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed')) return;
      await sleep(250);
    }
    this.o.log.warn({ ref }, 'pods still terminating after stop');
  }

  async restart(ref: string, _timeoutS: number): Promise<void> {
    const r = parseRef(ref);
    const w = await this.readWorkload(r);
    if (!w) throw new UnprocessableError(`${r.kind} ${r.namespace}/${r.name} is gone from backend '${this.id}'`);
    if (r.kind === 'job') return this.rerunJob(r);
    if (r.kind === 'cronjob') return this.start(ref); // its runs are its schedule's: restart = make sure it is resumed
    // A new template annotation rolls the pod (Recreate / StatefulSet rolling update: old pod first, then new).
    await this.patchWorkload(r, {
      metadata: { annotations: { [STARTED_ANNOTATION]: 'true' } },
      spec: { replicas: 1, template: { metadata: { annotations: { [RESTARTED_ANNOTATION]: new Date().toISOString() } } } },
    });
  }

  /** Everything carrying the env's id and this gateway's label; the namespace and its shared policy stay. */
  async delete(ref: string): Promise<void> {
    const r = parseRef(ref);
    const labelSelector = `${LABELS.envId}=${r.envId},${LABELS.gateway}=${this.o.gatewayId}`;
    const namespace = r.namespace;
    const gone = (err: unknown) => { if (statusOf(err) !== 404) throw err; };
    const each = async <T extends { metadata?: { name?: string } }>(list: () => Promise<{ items: T[] }>, del: (name: string) => Promise<unknown>) => {
      for (const o of (await this.call(list)).items) await this.call(() => del(o.metadata!.name!)).catch(gone);
    };
    const opts = { namespace, propagationPolicy: 'Background' };
    // Workloads first (their pods and a CronJob's Jobs go with them), then what they used.
    await each(() => this.batch.listNamespacedCronJob({ namespace, labelSelector }), (name) => this.batch.deleteNamespacedCronJob({ ...opts, name }));
    await each(() => this.batch.listNamespacedJob({ namespace, labelSelector }), (name) => this.batch.deleteNamespacedJob({ ...opts, name }));
    await each(() => this.apps.listNamespacedDeployment({ namespace, labelSelector }), (name) => this.apps.deleteNamespacedDeployment({ ...opts, name }));
    await each(() => this.apps.listNamespacedStatefulSet({ namespace, labelSelector }), (name) => this.apps.deleteNamespacedStatefulSet({ ...opts, name }));
    await each(() => this.core.listNamespacedService({ namespace, labelSelector }), (name) => this.core.deleteNamespacedService({ namespace, name }));
    await each(() => this.core.listNamespacedSecret({ namespace, labelSelector }), (name) => this.core.deleteNamespacedSecret({ namespace, name }));
    await each(() => this.net.listNamespacedNetworkPolicy({ namespace, labelSelector }), (name) => this.net.deleteNamespacedNetworkPolicy({ namespace, name }));
    // The StatefulSet's retention policy deletes its claims too; this also covers clusters without that feature.
    await each(() => this.core.listNamespacedPersistentVolumeClaim({ namespace, labelSelector }), (name) => this.core.deleteNamespacedPersistentVolumeClaim({ namespace, name }));
  }

  /** The workload and its pods (and a CronJob's Jobs) now; `generation` keeps only pods of the current template. */
  private async statusNow(r: Ref, generation?: string | null): Promise<BackendStatus> {
    const w = await this.readWorkload(r);
    if (!w) return { state: 'missing' };
    let pods = await this.pods(r);
    if (generation !== undefined) pods = pods.filter((p) => (p.metadata?.annotations?.[RESTARTED_ANNOTATION] ?? null) === generation);
    const jobs = r.kind === 'cronjob' ? (await this.call(() => this.batch.listNamespacedJob({ namespace: r.namespace, labelSelector: `${LABELS.envId}=${r.envId}` }))).items : [];
    return workloadStatus(r.kind, w, pods, jobs);
  }

  async inspect(ref: string): Promise<BackendStatus> {
    return this.statusNow(parseRef(ref));
  }

  async list(): Promise<ManagedObject[]> {
    return this.listWhere(this.ownSelector());
  }

  private async listWhere(labelSelector: string, kinds: readonly WorkloadKind[] = WORKLOAD_KINDS): Promise<ManagedObject[]> {
    const none = Promise.resolve({ items: [] as WorkloadLike[] });
    const [deps, sets, jobs, crons] = await Promise.all([
      kinds.includes('deployment') ? this.call(() => this.apps.listDeploymentForAllNamespaces({ labelSelector })) : none,
      kinds.includes('statefulset') ? this.call(() => this.apps.listStatefulSetForAllNamespaces({ labelSelector })) : none,
      kinds.includes('job') ? this.call(() => this.batch.listJobForAllNamespaces({ labelSelector })) : none,
      kinds.includes('cronjob') ? this.call(() => this.batch.listCronJobForAllNamespaces({ labelSelector })) : none,
    ]);
    const out: ManagedObject[] = [];
    const add = (kind: WorkloadKind, w: WorkloadLike) => {
      if (w.metadata?.deletionTimestamp) return;
      // A CronJob's runs carry its env's labels but are part of it, not objects of their own.
      if (w.metadata?.ownerReferences?.some((o) => o.kind === 'CronJob')) return;
      const envId = w.metadata?.labels?.[LABELS.envId];
      if (!envId) return;
      out.push({ ref: formatRef({ namespace: w.metadata!.namespace!, kind, name: w.metadata!.name!, envId }), envId, ...listState(kind, w) });
    };
    for (const d of deps.items) add('deployment', d);
    for (const s of sets.items) add('statefulset', s);
    for (const j of jobs.items) add('job', j);
    for (const c of crons.items) add('cronjob', c);
    return out;
  }

  async findByEnvId(envId: string): Promise<string | undefined> {
    return (await this.listWhere(`${this.ownSelector()},${LABELS.envId}=${envId}`))[0]?.ref;
  }

  /** Follows the env (watches on its pods and its workload) until it is Ready. Settles early, returning the
   *  status, for a pod the scheduler can't place for longer than the grace period ('pending'), a CronJob that
   *  waits for its schedule, a Job that already ended. A container that can't start (image pull, crash loop) or
   *  a workload whose pods are refused: UnprocessableError with the reason. */
  async waitReady(ref: string, signal?: AbortSignal): Promise<BackendStatus | void> {
    const r = parseRef(ref);
    const w = await this.readWorkload(r);
    if (!w) throw new UnprocessableError(`${r.kind} ${r.namespace}/${r.name} is gone from backend '${this.id}'`);
    const template = (w as { spec?: { template?: { metadata?: { annotations?: Record<string, string> } } } }).spec?.template;
    const generation = r.kind === 'deployment' || r.kind === 'statefulset' ? template?.metadata?.annotations?.[RESTARTED_ANNOTATION] ?? null : undefined;
    const graceMs = this.o.unschedulableGraceMs ?? 5000;
    const deadline = Date.now() + (this.o.readyTimeoutMs ?? 300_000);
    let wake = () => undefined as void;
    let changed = true;
    let lost: Error | undefined;
    const stop = this.follow(r, () => { changed = true; wake(); }, (err) => { lost = err; wake(); });
    const onAbort = () => wake();
    signal?.addEventListener('abort', onAbort);
    try {
      let pendingSince: number | undefined;
      let last: BackendStatus | undefined;
      for (;;) {
        if (signal?.aborted) throw new Error('aborted');
        if (lost) throw lost;
        if (changed) {
          changed = false;
          last = await this.statusNow(r, generation);
          const s = last.state;
          if (s === 'missing') throw new UnprocessableError(`${r.kind} ${r.namespace}/${r.name} is gone from backend '${this.id}'`);
          if (s === 'running' && (!last.message || r.kind === 'cronjob')) return r.kind === 'cronjob' ? last : undefined;
          if (s === 'stopped' && r.kind === 'job') return last;
          if (s === 'failed') {
            if (r.kind === 'job' || r.kind === 'cronjob') return last; // it ran: keep it (and its logs), say why
            throw new UnprocessableError(last.message ?? 'failed');
          }
          pendingSince = s === 'pending' ? pendingSince ?? Date.now() : undefined;
        }
        if (pendingSince !== undefined && Date.now() - pendingSince >= graceMs) return last;
        if (Date.now() > deadline) throw new UnprocessableError(`no pod of '${r.name}' became Ready within ${Math.round((this.o.readyTimeoutMs ?? 300_000) / 1000)} s${last?.message ? `: ${last.message}` : ''}`);
        // Events wake this up; the timer is a backstop for a missed one and ends the grace period.
        const nap = Math.min(2000, pendingSince !== undefined ? graceMs - (Date.now() - pendingSince) : 2000, deadline - Date.now());
        await new Promise<void>((res) => { const t = setTimeout(() => { changed = true; res(); }, Math.max(0, nap)); wake = () => { clearTimeout(t); res(); }; });
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      stop();
    }
  }

  /** Watches the env's pods and its workload's collection in its namespace; onEvent on every change. */
  private follow(r: Ref, onEvent: () => void, onLost: (err: Error) => void): () => void {
    const labelSelector = `${LABELS.envId}=${r.envId}`;
    const paths = [
      `/api/v1/namespaces/${r.namespace}/pods`,
      { deployment: `/apis/apps/v1/namespaces/${r.namespace}/deployments`, statefulset: `/apis/apps/v1/namespaces/${r.namespace}/statefulsets`,
        job: `/apis/batch/v1/namespaces/${r.namespace}/jobs`, cronjob: `/apis/batch/v1/namespaces/${r.namespace}/jobs` }[r.kind],
    ];
    const watch = new Watch(this.kc);
    const aborters: AbortController[] = [];
    let stopped = false;
    const open = (path: string) => {
      if (stopped) return;
      watch.watch(path, { labelSelector }, () => onEvent(), (err) => {
        if (stopped) return;
        if (err && isUnreachable(err)) return onLost(new BackendUnavailableError(this.id, (err as Error).message));
        if (err && (err as { name?: string }).name === 'AbortError') return;
        // The server ends watches after a while: watch again (and look again: something may have changed).
        onEvent();
        setTimeout(() => open(path), err ? 1000 : 0);
      }).then((a) => { aborters.push(a); if (stopped) a.abort(); }, (err) => onLost(isUnreachable(err) ? new BackendUnavailableError(this.id, (err as Error).message) : err));
    };
    for (const p of paths) open(p);
    return () => { stopped = true; for (const a of aborters) a.abort(); };
  }

  /** Status changes of every env of this backend, from watches (see watch.ts). */
  watch(onChange: (envId: string, status: BackendStatus) => void, onResync: () => void): () => void {
    const w = new EnvWatch({ kc: this.kc, labelSelector: this.ownSelector(), log: this.o.log, onChange, onResync, backoffMs: this.o.watchBackoffMs });
    this.watches.add(w);
    w.start();
    return () => { w.stop(); this.watches.delete(w); };
  }

  async close(): Promise<void> {
    for (const w of this.watches) w.stop();
    this.watches.clear();
  }

  /** The public Service's node ports (and node addresses) or load balancer ingress. */
  async exposure(ref: string): Promise<ExposedService | undefined> {
    const r = parseRef(ref);
    const svc = await this.maybe(() => this.core.readNamespacedService({ name: `${r.name}${PUBLIC_SUFFIX}`, namespace: r.namespace }));
    if (!svc || (svc.spec?.type !== 'NodePort' && svc.spec?.type !== 'LoadBalancer')) return undefined;
    const ports = (svc.spec.ports ?? []).map((p) => ({ name: p.name ?? String(p.port), port: p.port, node_port: p.nodePort ?? null }));
    if (svc.spec.type === 'LoadBalancer') {
      const hosts = (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? i.hostname ?? '').filter(Boolean);
      return { type: 'LoadBalancer', hosts, ports };
    }
    const nodes = await this.call(() => this.core.listNode({}));
    const hosts = new Set<string>();
    for (const n of nodes.items) {
      if (n.spec?.unschedulable || !n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) continue;
      const a = n.status?.addresses ?? [];
      const addr = a.find((x) => x.type === 'ExternalIP') ?? a.find((x) => x.type === 'InternalIP');
      if (addr) hosts.add(addr.address);
    }
    return { type: 'NodePort', hosts: [...hosts].sort(), ports };
  }

  // ---- streams ---------------------------------------------------------------------------------------------

  /** The newest live pod of the env (for logs, exec, port-forward). */
  private async pod(r: Ref, needRunning = true): Promise<V1Pod> {
    const pods = (await this.pods(r)).sort((a, b) => String(b.metadata?.creationTimestamp?.toISOString?.() ?? '').localeCompare(String(a.metadata?.creationTimestamp?.toISOString?.() ?? '')));
    const p = needRunning ? pods.find((x) => x.status?.phase === 'Running') : pods[0];
    if (!p) throw new UnprocessableError(needRunning ? 'environment is not running (no running pod)' : 'environment has no pod');
    return p;
  }

  async logs(ref: string, opts: LogOptions): Promise<Readable> {
    const r = parseRef(ref);
    const pod = await this.pod(r, false);
    const name = pod.metadata!.name!;
    const out = new PassThrough();
    if (!opts.follow) {
      const text = await this.call(() => this.core.readNamespacedPodLog({ name, namespace: r.namespace, container: CONTAINER, tailLines: opts.tail ?? 100, timestamps: opts.timestamps }))
        .catch((err) => { throw err instanceof BackendUnavailableError ? err : new UnprocessableError(`logs of pod ${name} are not available: ${apiMessage(err)}`, 'logs_unavailable'); });
      out.end(text);
      return out;
    }
    // client-node's Log drops the API server's message on errors: probe without follow first to surface it.
    await this.call(() => this.core.readNamespacedPodLog({ name, namespace: r.namespace, container: CONTAINER, limitBytes: 1 }))
      .catch((err) => { throw err instanceof BackendUnavailableError ? err : new UnprocessableError(`logs of pod ${name} are not available: ${apiMessage(err)}`, 'logs_unavailable'); });
    const aborter = await this.call(() => new Log(this.kc).log(r.namespace, name, CONTAINER, out, { follow: true, tailLines: opts.tail ?? 100, timestamps: opts.timestamps }))
      .catch((err) => { throw err instanceof BackendUnavailableError ? err : new UnprocessableError(`logs of pod ${name} are not available: ${apiMessage(err)}`, 'logs_unavailable'); });
    const stop = () => aborter.abort();
    opts.signal?.addEventListener('abort', stop, { once: true });
    out.on('close', stop);
    return out;
  }

  /** A byte stream to `port` of the env's pod through the API server's port-forward subresource. */
  async openPort(ref: string, port: number): Promise<Duplex> {
    const r = parseRef(ref);
    const pod = await this.pod(r);
    const input = new PassThrough();
    let socket: { close(): void; on(ev: string, cb: (...a: any[]) => void): void } | undefined;
    const duplex = new Duplex({
      read() { /* pushed from the socket */ },
      write(chunk, _enc, cb) { input.write(chunk, cb); },
      final(cb) { input.end(); cb(); },
      destroy(err, cb) { input.destroy(); try { socket?.close(); } catch { /* closed */ } cb(err); },
    });
    const output = new Writable({ write(chunk: Buffer, _enc, cb) { if (chunk.length) duplex.push(chunk); cb(); } });
    // The error channel carries only errors (kwok: "no forward found for port N"; kubelet: connection refused).
    const errors = new Writable({
      write(chunk: Buffer, _enc, cb) { if (chunk.length) duplex.destroy(new Error(chunk.toString().trim())); cb(); },
    });
    try {
      const ws = await this.call(() => new PortForward(this.kc).portForward(r.namespace, pod.metadata!.name!, [port], output, errors, input));
      socket = ws as unknown as typeof socket;
    } catch (err) {
      input.destroy();
      if (err instanceof BackendUnavailableError) throw err;
      const msg = (err as { message?: string })?.message ?? String(err);
      throw new UnprocessableError(`port-forward to ${r.namespace}/${pod.metadata!.name}:${port} failed: ${msg}`, 'port_unreachable');
    }
    socket!.on('close', () => { if (!duplex.destroyed) duplex.push(null); });
    socket!.on('error', (e: Error) => duplex.destroy(e));
    return duplex;
  }

  async exec(ref: string, cmd: string[], opts: { user?: string; stdin?: string } = {}): Promise<ExecResult> {
    const r = parseRef(ref);
    const pod = await this.pod(r);
    const argv = opts.user ? ['su', '-s', '/bin/sh', opts.user, '-c', cmd.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')] : cmd;
    let stdout = '';
    let stderr = '';
    const out = new Writable({ write(c: Buffer, _e, cb) { stdout += c.toString(); cb(); } });
    const err = new Writable({ write(c: Buffer, _e, cb) { stderr += c.toString(); cb(); } });
    const stdin = opts.stdin !== undefined ? PassThrough.from([opts.stdin]) as unknown as Readable : null;
    const status = await new Promise<V1Status>((resolve, reject) => {
      this.call(() => new Exec(this.kc).exec(r.namespace, pod.metadata!.name!, CONTAINER, argv, out, err, stdin, false, resolve))
        .then((ws) => ws.on('close', () => resolve({ status: 'Unknown' } as V1Status)), (e) => reject(e instanceof BackendUnavailableError ? e : new UnprocessableError(`exec in pod ${pod.metadata!.name} failed: ${(e as Error).message ?? e}`)));
    });
    const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
    if (status.status !== 'Success' && !cause?.message) {
      throw new UnprocessableError(`exec in pod ${pod.metadata!.name} failed: ${status.message ?? (stderr.trim() || 'the stream closed without an exit status')}`);
    }
    const exitCode = cause?.message ? Number(cause.message) : 0;
    return { exitCode, stdout, stderr };
  }

  /** Updates the boot Secret (so the next pod has the files) and, best effort, the copies in the running pod. */
  async writeFiles(ref: string, files: BootFile[]): Promise<void> {
    if (files.length === 0) return;
    const r = parseRef(ref);
    const secretName = `${r.name}-boot`;
    const secret = await this.maybe(() => this.core.readNamespacedSecret({ name: secretName, namespace: r.namespace }));
    if (!secret) throw new UnprocessableError(`Secret ${r.namespace}/${secretName} is gone from backend '${this.id}'`);
    const modes = parseModes(Buffer.from(secret.data?.[MODES_KEY] ?? '', 'base64').toString());
    const data: Record<string, string> = {};
    for (const f of files) {
      data[bootKey(f.path)] = Buffer.from(f.content).toString('base64');
      modes.set(bootKey(f.path), f.mode);
    }
    data[MODES_KEY] = Buffer.from(modesText(modes)).toString('base64');
    await this.call(() => this.core.patchNamespacedSecret({ name: secretName, namespace: r.namespace, body: { data } }, MERGE));
    const running = (await this.pods(r)).find((p) => p.status?.phase === 'Running');
    if (!running) return;
    for (const f of files) {
      const target = `/.hangar/${bootKey(f.path)}`;
      const res = await this.exec(ref, ['/bin/sh', '-c', 'cat > "$1.new" && chmod "$2" "$1.new" && mv "$1.new" "$1"', 'sh', target, f.mode.toString(8)], { stdin: f.content.toString() })
        .catch((err) => ({ exitCode: -1, stdout: '', stderr: (err as Error).message }));
      if (res.exitCode !== 0) this.o.log.warn({ ref, file: target, err: res.stderr.trim() }, 'file not updated in the running pod; the next start has it');
    }
  }


  /** Nodes' allocatable GPU resources less what scheduled, unfinished pods request (see inventory.ts). */
  async inventory(): Promise<GpuDevice[]> {
    const [nodes, pods] = await Promise.all([
      this.call(() => this.core.listNode({})),
      this.call(() => this.core.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName!=,status.phase!=Succeeded,status.phase!=Failed' })),
    ]);
    return clusterGpus(this.id, nodes.items, pods.items);
  }
}

// Kubernetes backend (@kubernetes/client-node 1.x): a Deployment (k8s_pod) or StatefulSet (k8s_stateful) per
// environment in a namespace per user, scaled 1/0 by start/stop; the scheduler places GPUs (the daemon does not
// allocate them: GpuService.allocates() is false for kind kubernetes). See manifests.ts for the objects.
//
// A ref is `<namespace>/<deployment|statefulset>/<name>/<env id>`.
import { Duplex, PassThrough, Writable, type Readable } from 'node:stream';
import {
  AppsV1Api, CoreV1Api, Exec, KubeConfig, Log, NetworkingV1Api, PatchStrategy, PortForward, VersionApi, Watch,
  setHeaderOptions, type V1Pod, type V1Status,
} from '@kubernetes/client-node';
import type { BackendInfo, PullPolicy } from '../../../common/model';
import { BackendUnavailableError, UnprocessableError } from '../../errors';
import { answerWithin } from '../answerWithin';
import type { Logger } from '../../log';
import type { GpuDevice } from '../../gpu/types';
import {
  LABELS, type BackendState, type BackendStatus, type BootFile, type Driver, type EnvSpec, type ExecResult,
  type LogOptions, type ManagedObject, type ProgressFn, type SnapshotInfo,
} from '../driver';
import {
  bootKey, bootSecret, CONTAINER, deployment, GPU_PRODUCT_LABEL, MODES_KEY, modesText, namespaceFor, parseModes, networkPolicy, objectName,
  PULL_POLICY, RESTARTED_ANNOTATION, service, STARTED_ANNOTATION, statefulSet, workloadKind,
  type K8sOptions, type Placement, type WorkloadKind,
} from './manifests';

export interface KubernetesDriverOptions {
  id: string;
  kubeconfig?: string;
  context?: string;
  namespace_policy: 'per-user' | 'per-team';
  namespace_prefix: string;
  image_pull_secrets: string[];
  storage_class?: string;
  gatewayId: string;
  log: Logger;
  /** How long a pod may stay Unschedulable before waitReady gives up with the scheduler's message. */
  unschedulableGraceMs?: number;
  /** waitReady's overall limit (image pulls included). */
  readyTimeoutMs?: number;
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOENT', 'EACCES', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'ENETUNREACH', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET']);
/** Container waiting reasons that won't fix themselves. */
const FATAL_WAITING = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'CrashLoopBackOff', 'CreateContainerConfigError', 'CreateContainerError', 'RunContainerError', 'ErrImageNeverPull']);
const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

function errCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; cause?: { code?: unknown }; errno?: unknown };
  if (typeof e?.code === 'string') return e.code;
  if (typeof e?.cause?.code === 'string') return e.cause.code;
  return undefined;
}

export function isUnreachable(err: unknown): boolean {
  const code = errCode(err);
  if (code && UNREACHABLE.has(code)) return true;
  const e = err as { type?: string; name?: string; message?: string };
  return e?.type === 'system' || e?.name === 'FetchError' || /ECONNREFUSED|socket hang up|ETIMEDOUT|EHOSTUNREACH/.test(e?.message ?? '');
}

/** HTTP status of an ApiException (client-node 1.x: `code` is the status). */
export function statusOf(err: unknown): number | undefined {
  const c = (err as { code?: unknown })?.code;
  return typeof c === 'number' ? c : undefined;
}

/** The API server's own message (Status.message) from an ApiException, else the error's message. */
export function apiMessage(err: unknown): string {
  const body = (err as { body?: unknown })?.body;
  if (typeof body === 'string') {
    try { const m = (JSON.parse(body) as { message?: string }).message; if (m) return m; } catch { if (body.trim()) return body.trim(); }
  } else if (body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string') {
    return (body as { message: string }).message;
  }
  return (err as Error)?.message ?? String(err);
}

interface Ref { namespace: string; kind: WorkloadKind; name: string; envId: string }

export function parseRef(ref: string): Ref {
  const [namespace, kind, name, envId] = ref.split('/');
  if (!namespace || (kind !== 'deployment' && kind !== 'statefulset') || !name || !envId) throw new UnprocessableError(`'${ref}' is not a Kubernetes environment reference`);
  return { namespace, kind, name, envId };
}
const formatRef = (r: Ref) => `${r.namespace}/${r.kind}/${r.name}/${r.envId}`;

/** Why a pod can't become Ready (and won't by waiting), or undefined. */
function podFailure(p: V1Pod): string | undefined {
  if (p.status?.phase === 'Failed') return `pod ${p.metadata?.name} failed: ${p.status.message ?? p.status.reason ?? 'no reason given'}`;
  for (const cs of p.status?.containerStatuses ?? []) {
    const w = cs.state?.waiting;
    if (w?.reason && FATAL_WAITING.has(w.reason)) return `pod ${p.metadata?.name}: ${w.reason}${w.message ? `: ${w.message}` : ''}`;
  }
  return undefined;
}

/** The scheduler's message when the pod can't be placed (PodScheduled=False, Unschedulable). */
function unschedulable(p: V1Pod): string | undefined {
  const c = p.status?.conditions?.find((x) => x.type === 'PodScheduled');
  if (c?.status === 'False' && c.reason === 'Unschedulable') return c.message || 'no node fits';
  return undefined;
}

const isReady = (p: V1Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
const alive = (p: V1Pod) => !p.metadata?.deletionTimestamp;

export class KubernetesDriver implements Driver {
  readonly kind = 'kubernetes' as const;
  readonly id: string;
  private readonly kc = new KubeConfig();
  private readonly core: CoreV1Api;
  private readonly apps: AppsV1Api;
  private readonly net: NetworkingV1Api;
  private readonly version: VersionApi;
  private readonly k8s: K8sOptions;
  private readonly server: string;

  constructor(private readonly o: KubernetesDriverOptions) {
    this.id = o.id;
    if (o.kubeconfig) this.kc.loadFromFile(o.kubeconfig);
    else this.kc.loadFromCluster();
    if (o.context) this.kc.setCurrentContext(o.context);
    this.server = this.kc.getCurrentCluster()?.server ?? '(in-cluster)';
    this.core = this.kc.makeApiClient(CoreV1Api);
    this.apps = this.kc.makeApiClient(AppsV1Api);
    this.net = this.kc.makeApiClient(NetworkingV1Api);
    this.version = this.kc.makeApiClient(VersionApi);
    this.k8s = { gatewayId: o.gatewayId, backendId: o.id, namespacePrefix: o.namespace_prefix, imagePullSecrets: o.image_pull_secrets, storageClass: o.storage_class };
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

  private namespaceOf(spec: EnvSpec): string {
    // per-team: the spec carries no team yet, so both policies name the namespace after the owner.
    return namespaceFor(this.o.namespace_prefix, spec.owner);
  }

  private async ensureNamespace(namespace: string): Promise<void> {
    const ns = await this.maybe(() => this.core.readNamespace({ name: namespace }));
    if (ns?.status?.phase === 'Terminating') throw new UnprocessableError(`namespace '${namespace}' is being deleted on backend '${this.id}'; try again when it is gone`);
    if (!ns) {
      await this.call(() => this.core.createNamespace({
        body: { metadata: { name: namespace, labels: { [LABELS.managed]: 'true', [LABELS.gateway]: this.o.gatewayId, [LABELS.backend]: this.id } } },
      })).catch((err) => { if (statusOf(err) !== 409) throw err; });
    }
    await this.call(() => this.net.createNamespacedNetworkPolicy({ namespace, body: networkPolicy(this.k8s, namespace) }))
      .catch((err) => { if (statusOf(err) !== 409) throw err; });
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

  async create(spec: EnvSpec): Promise<string> {
    const existing = await this.findByEnvId(spec.envId);
    if (existing) return existing;
    const kind = workloadKind(spec);
    const namespace = this.namespaceOf(spec);
    const name = objectName(spec);
    const placement = await this.placement(spec);
    // Build everything first: an unsupported spec fails before anything is made.
    const secret = bootSecret(spec, this.k8s, namespace);
    const svc = service(spec, this.k8s, namespace);
    const dep = kind === 'deployment' ? deployment(spec, this.k8s, namespace, placement) : undefined;
    const sts = kind === 'statefulset' ? statefulSet(spec, this.k8s, namespace, placement) : undefined;
    await this.ensureNamespace(namespace);
    const ref = formatRef({ namespace, kind, name, envId: spec.envId });
    const refuse = (what: string) => (err: unknown) => {
      if (statusOf(err) === 409) return undefined; // left by an earlier, interrupted create of this env
      if (statusOf(err) === 422 || statusOf(err) === 400 || statusOf(err) === 403) {
        throw new UnprocessableError(`backend '${this.id}' refused the ${what}: ${apiMessage(err)}`);
      }
      throw err;
    };
    try {
      await this.call(() => this.core.createNamespacedSecret({ namespace, body: secret })).catch(refuse('Secret'));
      await this.call(() => this.core.createNamespacedService({ namespace, body: svc })).catch(refuse('Service'));
      if (dep) await this.call(() => this.apps.createNamespacedDeployment({ namespace, body: dep })).catch(refuse('Deployment'));
      if (sts) await this.call(() => this.apps.createNamespacedStatefulSet({ namespace, body: sts })).catch(refuse('StatefulSet'));
    } catch (err) {
      if (!(err instanceof BackendUnavailableError)) await this.delete(ref).catch(() => undefined);
      throw err;
    }
    return ref;
  }

  // ---- lifecycle -------------------------------------------------------------------------------------------

  private async readWorkload(r: Ref) {
    return r.kind === 'deployment'
      ? this.maybe(() => this.apps.readNamespacedDeployment({ name: r.name, namespace: r.namespace }))
      : this.maybe(() => this.apps.readNamespacedStatefulSet({ name: r.name, namespace: r.namespace }));
  }

  private async patchWorkload(r: Ref, body: object): Promise<void> {
    const done = r.kind === 'deployment'
      ? await this.maybe(() => this.apps.patchNamespacedDeployment({ name: r.name, namespace: r.namespace, body }, MERGE))
      : await this.maybe(() => this.apps.patchNamespacedStatefulSet({ name: r.name, namespace: r.namespace, body }, MERGE));
    if (!done) throw new UnprocessableError(`${r.kind} ${r.namespace}/${r.name} is gone from backend '${this.id}'`);
  }

  private async pods(r: Ref): Promise<V1Pod[]> {
    const list = await this.call(() => this.core.listNamespacedPod({ namespace: r.namespace, labelSelector: `${LABELS.envId}=${r.envId}` }));
    return list.items.filter(alive);
  }

  async start(ref: string): Promise<void> {
    await this.patchWorkload(parseRef(ref), { metadata: { annotations: { [STARTED_ANNOTATION]: 'true' } }, spec: { replicas: 1 } });
  }

  async stop(ref: string, timeoutS: number): Promise<void> {
    const r = parseRef(ref);
    if (!(await this.readWorkload(r))) return;
    await this.patchWorkload(r, { spec: { replicas: 0 } });
    // Stopped = no pod holds the GPUs any more (the pods' grace period is theirs; we wait a bit beyond it).
    const deadline = Date.now() + (timeoutS + 20) * 1000;
    while (Date.now() < deadline) {
      const left = await this.call(() => this.core.listNamespacedPod({ namespace: r.namespace, labelSelector: `${LABELS.envId}=${r.envId}` }));
      if (left.items.length === 0) return;
      await new Promise((res) => setTimeout(res, 250));
    }
    this.o.log.warn({ ref }, 'pods still terminating after stop');
  }

  async restart(ref: string, _timeoutS: number): Promise<void> {
    const r = parseRef(ref);
    const w = await this.readWorkload(r);
    if (!w) throw new UnprocessableError(`${r.kind} ${r.namespace}/${r.name} is gone from backend '${this.id}'`);
    // A new template annotation rolls the pod (Recreate / StatefulSet rolling update: old pod first, then new).
    await this.patchWorkload(r, {
      metadata: { annotations: { [STARTED_ANNOTATION]: 'true' } },
      spec: { replicas: 1, template: { metadata: { annotations: { [RESTARTED_ANNOTATION]: new Date().toISOString() } } } },
    });
  }

  async delete(ref: string): Promise<void> {
    const r = parseRef(ref);
    const sel = `${LABELS.envId}=${r.envId},${LABELS.gateway}=${this.o.gatewayId}`;
    const ns = r.namespace;
    const gone = (err: unknown) => { if (statusOf(err) !== 404) throw err; };
    const opts = { namespace: ns, propagationPolicy: 'Background' };
    // Workloads first (their pods go with them), then what they used.
    for (const d of (await this.call(() => this.apps.listNamespacedDeployment({ namespace: ns, labelSelector: sel }))).items) {
      await this.call(() => this.apps.deleteNamespacedDeployment({ ...opts, name: d.metadata!.name! })).catch(gone);
    }
    for (const s of (await this.call(() => this.apps.listNamespacedStatefulSet({ namespace: ns, labelSelector: sel }))).items) {
      await this.call(() => this.apps.deleteNamespacedStatefulSet({ ...opts, name: s.metadata!.name! })).catch(gone);
    }
    for (const s of (await this.call(() => this.core.listNamespacedService({ namespace: ns, labelSelector: sel }))).items) {
      await this.call(() => this.core.deleteNamespacedService({ namespace: ns, name: s.metadata!.name! })).catch(gone);
    }
    for (const s of (await this.call(() => this.core.listNamespacedSecret({ namespace: ns, labelSelector: sel }))).items) {
      await this.call(() => this.core.deleteNamespacedSecret({ namespace: ns, name: s.metadata!.name! })).catch(gone);
    }
    // The StatefulSet's retention policy deletes its claims too; this also covers clusters without that feature.
    for (const c of (await this.call(() => this.core.listNamespacedPersistentVolumeClaim({ namespace: ns, labelSelector: sel }))).items) {
      await this.call(() => this.core.deleteNamespacedPersistentVolumeClaim({ namespace: ns, name: c.metadata!.name! })).catch(gone);
    }
  }

  async inspect(ref: string): Promise<BackendStatus> {
    const r = parseRef(ref);
    const w = await this.readWorkload(r);
    if (!w || w.metadata?.deletionTimestamp) return { state: 'missing' };
    if ((w.spec?.replicas ?? 1) === 0) {
      return { state: w.metadata?.annotations?.[STARTED_ANNOTATION] ? 'stopped' : 'created' };
    }
    const pods = await this.pods(r);
    const ready = pods.find(isReady);
    if (ready) return { state: 'running', startedAt: ready.status?.startTime?.toISOString?.() ?? String(ready.status?.startTime ?? '') };
    for (const p of pods) {
      const failure = podFailure(p);
      if (failure) return { state: 'failed', message: failure };
    }
    for (const p of pods) {
      const why = unschedulable(p);
      // Not "failed": capacity may come back (a pod ends, a node joins); the env stays and says why it waits.
      if (why) return { state: 'created', message: `pod ${p.metadata?.name} is Pending: ${why}` };
    }
    const running = pods.find((p) => p.status?.phase === 'Running');
    if (running) return { state: 'running', message: `pod ${running.metadata?.name} is not Ready yet` };
    return { state: 'created', message: pods.length ? `pod ${pods[0].metadata?.name} is ${pods[0].status?.phase ?? 'Pending'}` : 'no pod yet' };
  }

  async list(): Promise<ManagedObject[]> {
    const sel = this.ownSelector();
    const [deps, sets] = await Promise.all([
      this.call(() => this.apps.listDeploymentForAllNamespaces({ labelSelector: sel })),
      this.call(() => this.apps.listStatefulSetForAllNamespaces({ labelSelector: sel })),
    ]);
    const out: ManagedObject[] = [];
    const add = (kind: WorkloadKind, w: { metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; deletionTimestamp?: Date }; spec?: { replicas?: number }; status?: { readyReplicas?: number } }) => {
      if (w.metadata?.deletionTimestamp) return;
      const envId = w.metadata?.labels?.[LABELS.envId];
      if (!envId) return;
      const replicas = w.spec?.replicas ?? 1;
      const state: BackendState = replicas === 0 ? (w.metadata?.annotations?.[STARTED_ANNOTATION] ? 'stopped' : 'created') : (w.status?.readyReplicas ?? 0) > 0 ? 'running' : 'created';
      out.push({ ref: formatRef({ namespace: w.metadata!.namespace!, kind, name: w.metadata!.name!, envId }), envId, state });
    };
    for (const d of deps.items) add('deployment', d);
    for (const s of sets.items) add('statefulset', s);
    return out;
  }

  async findByEnvId(envId: string): Promise<string | undefined> {
    return (await this.list()).find((o) => o.envId === envId)?.ref;
  }

  /** Watches the env's pods until one of the current template is Ready. Unschedulable for longer than the grace
   *  period, or a container that can't start (image pull, crash loop): UnprocessableError with the reason. */
  async waitReady(ref: string, signal?: AbortSignal): Promise<void> {
    const r = parseRef(ref);
    const w = await this.readWorkload(r);
    if (!w) throw new UnprocessableError(`${r.kind} ${r.namespace}/${r.name} is gone from backend '${this.id}'`);
    const generation = w.spec?.template?.metadata?.annotations?.[RESTARTED_ANNOTATION];
    const current = (p: V1Pod) => alive(p) && p.metadata?.annotations?.[RESTARTED_ANNOTATION] === generation;
    const graceMs = this.o.unschedulableGraceMs ?? 5000;
    const timeoutMs = this.o.readyTimeoutMs ?? 300_000;
    const pods = new Map<string, V1Pod>();
    const watch = new Watch(this.kc);

    await new Promise<void>((resolve, reject) => {
      let settled = false;
      let aborter: AbortController | undefined;
      let unschedTimer: NodeJS.Timeout | undefined;
      const overall = setTimeout(() => finish(new UnprocessableError(`no pod of '${r.name}' became Ready within ${timeoutMs / 1000} s${lastWhy() ? `: ${lastWhy()}` : ''}`)), timeoutMs);
      const onAbort = () => finish(new Error('aborted'));
      signal?.addEventListener('abort', onAbort, { once: true });
      function lastWhy(): string | undefined {
        for (const p of pods.values()) { const m = unschedulable(p); if (m) return m; }
        return undefined;
      }
      function finish(err?: Error): void {
        if (settled) return;
        settled = true;
        clearTimeout(overall);
        clearTimeout(unschedTimer);
        signal?.removeEventListener('abort', onAbort);
        aborter?.abort();
        if (err) reject(err); else resolve();
      }
      const evaluate = () => {
        const live = [...pods.values()].filter(current);
        if (live.some(isReady)) return finish();
        for (const p of live) { const f = podFailure(p); if (f) return finish(new UnprocessableError(f)); }
        const stuck = live.map(unschedulable).find(Boolean);
        if (!stuck) { clearTimeout(unschedTimer); unschedTimer = undefined; return; }
        unschedTimer ??= setTimeout(() => {
          const still = [...pods.values()].filter(current).map(unschedulable).find(Boolean);
          if (still) finish(new UnprocessableError(`cannot be scheduled on backend '${this.id}': ${still}`, 'unschedulable'));
          else unschedTimer = undefined;
        }, graceMs);
      };
      const start = () => {
        if (settled) return;
        watch.watch(`/api/v1/namespaces/${r.namespace}/pods`, { labelSelector: `${LABELS.envId}=${r.envId}` }, (type, obj: V1Pod) => {
          const name = obj.metadata?.name;
          if (!name) return;
          if (type === 'DELETED') pods.delete(name); else pods.set(name, obj);
          evaluate();
        }, (err) => {
          if (settled) return;
          if (err && isUnreachable(err)) return finish(new BackendUnavailableError(this.id, (err as Error).message));
          if (err && (err as { name?: string }).name === 'AbortError') return;
          // The server ends watches after a while: watch again (the first events re-list what exists).
          setTimeout(start, err ? 1000 : 0);
        }).then((a) => { aborter = a; if (settled) a.abort(); }, (err) => {
          finish(isUnreachable(err) ? new BackendUnavailableError(this.id, (err as Error).message) : err);
        });
      };
      start();
    });
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

  async snapshot(_ref: string, _name: string): Promise<SnapshotInfo> {
    throw new UnprocessableError(`snapshots are not available on Kubernetes backend '${this.id}' yet`);
  }

  /** Nodes' allocatable nvidia.com/gpu and nvidia.com/mig-<profile>, one row per node and resource. */
  async inventory(): Promise<GpuDevice[]> {
    const nodes = await this.call(() => this.core.listNode({}));
    const now = new Date().toISOString();
    const out: GpuDevice[] = [];
    for (const n of nodes.items) {
      const node = n.metadata?.name ?? '?';
      const labels = n.metadata?.labels ?? {};
      const ready = n.status?.conditions?.find((c) => c.type === 'Ready');
      const healthy = ready?.status === 'True' && !n.spec?.unschedulable;
      for (const [res, qty] of Object.entries(n.status?.allocatable ?? {})) {
        if (res !== 'nvidia.com/gpu' && !res.startsWith('nvidia.com/mig-')) continue;
        const capacity = Number.parseInt(String(qty), 10);
        if (!Number.isFinite(capacity) || capacity <= 0) continue;
        const mem = Number.parseInt(labels['nvidia.com/gpu.memory'] ?? '', 10);
        out.push({
          id: `${node}/${res}`, backend_id: this.id, node, kind: 'k8s', index: null,
          model: labels[GPU_PRODUCT_LABEL] ?? 'unknown',
          memory_mb: res === 'nvidia.com/gpu' && Number.isFinite(mem) ? mem : null,
          pci_bus_id: null, driver: labels['nvidia.com/cuda.driver-version.full'] ?? labels['nvidia.com/cuda.driver.major'] ?? null,
          // 'n/a' even for MIG resources: each row is itself grantable (GpuService counts 'enabled' rows as 0 free).
          mig_mode: 'n/a',
          parent_id: null, profile: res, utilization: null,
          health: healthy ? 'ok' : 'error',
          health_message: healthy ? null : `node ${node} is ${n.spec?.unschedulable ? 'cordoned' : `not Ready (${ready?.reason ?? 'unknown'})`}`,
          capacity, present: true, last_seen: now,
        });
      }
    }
    return out;
  }
}


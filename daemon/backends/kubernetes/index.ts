// Kubernetes backend (@kubernetes/client-node 1.x): per environment a Deployment (k8s_pod) or StatefulSet
// (k8s_stateful), scaled 1/0 by start/stop, or a Job (k8s_job) / CronJob (k8s_cronjob), suspended/resumed by
// stop/start; in a namespace per user (or per team). The scheduler places GPUs (the gpus capability says
// allocation 'scheduler'). This file wires the parts: API handles (client.ts), objects (manifests.ts, create.ts),
// lifecycle.ts, workloads.ts, readiness (ready.ts), streams.ts, status (status.ts, watch.ts), cluster.ts.
import { RESTRICTED_SSH_PORT } from './agentPod';
import type { Duplex, Readable } from 'node:stream';
import type { BackendInfo, PullPolicy } from '../../../common/model';
import { BackendUnavailableError, UnprocessableError } from '../../errors';
import type {
  BackendStatus,
  BootFile,
  Capabilities,
  Driver,
  EnvSpec,
  ExecResult,
  LogOptions,
  ManagedObject,
  ProgressFn,
} from '../../contract';
import { LABELS, SSH_PORT } from '../../contract';
import { answerWithin } from '../shared/answerWithin';
import { apiMessage, parseRef } from './api';
import { K8sClient, type KubernetesDriverOptions } from './client';
import { exposure, inventory } from './cluster';
import { K8sCreate } from './create';
import * as lifecycle from './lifecycle';
import { PULL_POLICY } from './conventions';
import { waitReady } from './ready';
import * as streams from './streams';
import { EnvWatch } from './watch';
import { claimVolumes, explainEnv } from './claimsApi';
import { listWhere, statusNow } from './workloads';
import { volumeSnapshots } from './volumeSnapshots';
import { k8sEnvData } from './envHome';
import { syncBack } from './datasetSyncBack';

export { apiMessage, isUnreachable, parseRef, statusOf } from './api';
export type { KubernetesDriverOptions } from './client';
export { TEAM_LABEL } from './create';

export class KubernetesDriver implements Driver {
  readonly kind = 'kubernetes' as const;
  readonly modes = ['k8s_pod', 'k8s_stateful', 'k8s_job', 'k8s_cronjob'] as const;
  readonly startedByCreate = true;
  readonly id: string;
  private readonly c: K8sClient;
  private readonly creator: K8sCreate;
  private readonly watches = new Set<EnvWatch>();
  readonly capabilities: Capabilities = {
    preflight: { preflight: (spec) => this.creator.preflight(spec) },
    readyWait: { waitReady: (ref, signal) => waitReady(this.c, ref, signal) },
    statusWatch: { watch: (onChange, onResync) => this.watch(onChange, onResync) },
    exposure: { exposure: (ref) => exposure(this.c, ref) },
    gpus: { inventory: () => inventory(this.c), allocation: 'scheduler', modes: ['exclusive', 'mig', 'shared'] },
  };

  /** Only with agent_image: the init container needs an image to run. */
  get placesAgent(): boolean {
    return Boolean(this.c.k8s.agentImage);
  }

  /** Restricted pods: the SSH server listens as non-root on a high port (openPort(22) reaches it). */
  get sshPort(): number | undefined {
    return this.c.k8s.restricted ? RESTRICTED_SSH_PORT : undefined;
  }

  constructor(o: KubernetesDriverOptions) {
    this.id = o.id;
    this.c = new K8sClient(o);
    this.creator = new K8sCreate(this.c, (ref) => this.delete(ref));
    this.capabilities.volumes = claimVolumes(this.c, (ns, who) => this.creator.ensureNamespace(ns, who));
    this.capabilities.volumeSnapshots = volumeSnapshots(this.c);
    this.capabilities.envData = k8sEnvData(this.c);
    if (this.c.k8s.datasetSyncImage) this.capabilities.datasetSyncBack = { syncBack: (ref) => syncBack(this.c, ref) };
  }

  async info(): Promise<BackendInfo> {
    const base = { id: this.id, kind: this.kind, url: this.c.server };
    try {
      const v = await answerWithin(
        this.id,
        5000,
        this.c.call(() => this.c.version.getCode()),
      );
      return { ...base, available: true, version: `${v.gitVersion} (${v.platform})` };
    } catch (err) {
      if (err instanceof BackendUnavailableError) throw err;
      // Answered, but not with a version (TLS/auth failure, proxy error): not usable either.
      throw new BackendUnavailableError(this.id, apiMessage(err));
    }
  }

  /** The kubelet pulls; only the policy is checked here (it maps to imagePullPolicy). */
  async ensureImage(image: string, policy: PullPolicy, _onProgress?: ProgressFn, _signal?: AbortSignal): Promise<void> {
    if (!PULL_POLICY[policy])
      throw new UnprocessableError(`image_pull_policy '${policy}' has no Kubernetes equivalent`);
    if (!image) throw new UnprocessableError('no image');
  }

  create(spec: EnvSpec): Promise<string> {
    return this.creator.create(spec);
  }
  start(ref: string): Promise<void> {
    return lifecycle.start(this.c, ref);
  }
  stop(ref: string, timeoutS: number): Promise<void> {
    return lifecycle.stop(this.c, ref, timeoutS);
  }
  restart(ref: string, _timeoutS: number): Promise<void> {
    return lifecycle.restart(this.c, ref);
  }
  delete(ref: string): Promise<void> {
    return lifecycle.remove(this.c, ref);
  }
  inspect(ref: string): Promise<BackendStatus> {
    return statusNow(this.c, parseRef(ref));
  }
  list(): Promise<ManagedObject[]> {
    return listWhere(this.c, this.c.ownSelector());
  }

  async findByEnvId(envId: string): Promise<string | undefined> {
    return (await listWhere(this.c, `${this.c.ownSelector()},${LABELS.envId}=${envId}`))[0]?.ref;
  }

  logs(ref: string, opts: LogOptions): Promise<Readable> {
    return streams.logs(this.c, ref, opts);
  }
  openPort(ref: string, port: number): Promise<Duplex> {
    // Restricted pods serve SSH as non-root on a high port (agentPod.ts); callers still ask for port 22.
    return streams.openPort(this.c, ref, port === SSH_PORT && this.c.k8s.restricted ? RESTRICTED_SSH_PORT : port);
  }
  exec(ref: string, cmd: string[], opts?: { user?: string; stdin?: string }): Promise<ExecResult> {
    return streams.exec(this.c, ref, cmd, opts);
  }
  writeFiles(ref: string, files: BootFile[]): Promise<void> {
    return streams.writeFiles(this.c, ref, files);
  }

  /** Status changes of every env of this backend, from watches (see watch.ts). */
  private watch(onChange: (envId: string, status: BackendStatus) => void, onResync: () => void): () => void {
    // A pending env's unbound claims say why (their events): looked up before it is reported; a newer change wins.
    const seq = new Map<string, number>();
    const report = (envId: string, st: BackendStatus) => {
      const n = (seq.get(envId) ?? 0) + 1;
      seq.set(envId, n);
      if (st.state !== 'pending') return onChange(envId, st);
      void explainEnv(this.c, envId, st)
        .catch(() => st)
        .then((x) => seq.get(envId) === n && onChange(envId, x));
    };
    const w = new EnvWatch({
      kc: this.c.kc,
      labelSelector: this.c.ownSelector(),
      log: this.c.log,
      onChange: report,
      onResync,
      backoffMs: this.c.o.watchBackoffMs,
    });
    this.watches.add(w);
    w.start();
    return () => {
      w.stop();
      this.watches.delete(w);
    };
  }

  async close(): Promise<void> {
    for (const w of this.watches) w.stop();
    this.watches.clear();
  }
}

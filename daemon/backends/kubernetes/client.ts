// The Kubernetes API handles of one backend and the wrappers every call goes through (reachability, 404, refusals).
import {
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  KubeConfig,
  NetworkingV1Api,
  StorageV1Api,
  VersionApi,
  type V1Toleration,
} from '@kubernetes/client-node';
import { UnprocessableError } from '../../errors';
import type { Logger } from '../../log';
import { LABELS } from '../../contract';
import { guard } from '../shared/call';
import { apiMessage, k8sUnreachable, statusOf } from './api';
import type { K8sOptions } from './conventions';

export interface KubernetesDriverOptions {
  id: string;
  kubeconfig?: string;
  context?: string;
  namespace_policy: 'per-user' | 'per-team';
  namespace_prefix: string;
  image_pull_secrets: string[];
  storage_class?: string;
  ceph?: { cephfs_class?: string; rbd_class?: string };
  home_size_gb?: number;
  volume_size_gb?: number;
  fs_group?: number;
  /** Tolerations of GPU pods (default: nvidia.com/gpu NoSchedule). */
  gpu_tolerations?: V1Toleration[];
  /** ssh_server agent: its init container's image; pod_security restricted runs agent pods as restricted_uid. */
  agent_image?: string;
  dataset_sync_image?: string;
  pod_security?: 'baseline' | 'restricted';
  restricted_uid?: number;
  gatewayId: string;
  log: Logger;
  /** How long a pod may stay Unschedulable before waitReady settles for 'pending' (the watch takes over). */
  unschedulableGraceMs?: number;
  /** waitReady's overall limit (image pulls included). */
  readyTimeoutMs?: number;
  /** Restart delays of a failed status watch. */
  watchBackoffMs?: { min: number; max: number };
}

export class K8sClient {
  readonly id: string;
  readonly kc = new KubeConfig();
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  readonly batch: BatchV1Api;
  readonly net: NetworkingV1Api;
  readonly storage: StorageV1Api;
  readonly version: VersionApi;
  readonly k8s: K8sOptions;
  readonly server: string;

  constructor(readonly o: KubernetesDriverOptions) {
    this.id = o.id;
    if (o.kubeconfig) this.kc.loadFromFile(o.kubeconfig);
    else this.kc.loadFromCluster();
    if (o.context) this.kc.setCurrentContext(o.context);
    this.server = this.kc.getCurrentCluster()?.server ?? '(in-cluster)';
    this.core = this.kc.makeApiClient(CoreV1Api);
    this.apps = this.kc.makeApiClient(AppsV1Api);
    this.batch = this.kc.makeApiClient(BatchV1Api);
    this.net = this.kc.makeApiClient(NetworkingV1Api);
    this.storage = this.kc.makeApiClient(StorageV1Api);
    this.version = this.kc.makeApiClient(VersionApi);
    this.k8s = {
      gatewayId: o.gatewayId,
      backendId: o.id,
      namespacePrefix: o.namespace_prefix,
      imagePullSecrets: o.image_pull_secrets,
      storageClass: o.storage_class,
      ceph: o.ceph,
      homeSizeGb: o.home_size_gb ?? 10,
      volumeSizeGb: o.volume_size_gb ?? 10,
      fsGroup: o.fs_group ?? 1000,
      gpuTolerations: o.gpu_tolerations,
      agentImage: o.agent_image,
      datasetSyncImage: o.dataset_sync_image,
      restricted: o.pod_security === 'restricted',
      restrictedUid: o.restricted_uid,
    };
  }

  get log(): Logger {
    return this.o.log;
  }

  /** Runs an API call; a connection failure becomes BackendUnavailableError naming this backend. */
  call<T>(fn: () => Promise<T>): Promise<T> {
    return guard(this.id, k8sUnreachable, fn);
  }

  /** Like call(), and a 404 answers undefined. */
  async maybe<T>(fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await this.call(fn);
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  /** A refusal by the API server (admission, validation, RBAC) as a 422 with its own message. */
  refused(what: string) {
    return (err: unknown): never => {
      if (statusOf(err) === 422 || statusOf(err) === 400 || statusOf(err) === 403) {
        throw new UnprocessableError(`backend '${this.id}' refused the ${what}: ${apiMessage(err)}`, 'backend_refused');
      }
      throw err;
    };
  }

  ownSelector(): string {
    return `${LABELS.managed}=true,${LABELS.gateway}=${this.o.gatewayId},${LABELS.backend}=${this.id}`;
  }

  gone(what: string): UnprocessableError {
    return new UnprocessableError(`${what} is gone from backend '${this.id}'`);
  }
}

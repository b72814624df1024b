// What a backend is given (EnvSpec) and what it says back (status, managed objects, exec results).
import type { GpuMode, NetworkConfig, PortMapping, PullPolicy, SecretKeyRef } from '../../common/model';
import type { BootFile } from './boot';
import type { EnvRecord } from './labels';

/** A mount as the backend gets it, resolved by the gateway (environments/mounts.ts): a volume's `source` is its
 *  derived backend name (hangar-vol-<id>), a bind's is a path from the operator's host_paths. Never user input. */
export interface SpecMount {
  /** nfs: an operator's share (source is the share's name; nfs says where it is). dataset: a bucket/prefix the env
   *  reaches itself (VMs, pods), with credentials scoped to its datasets (source is "dataset-<n>"). */
  type: 'volume' | 'bind' | 'nfs' | 'dataset';
  source: string;
  target: string;
  read_only?: boolean;
  size_gb?: number;
  nfs?: NfsSource;
  /** Volumes on Kubernetes: what the claim asks for when this env makes it (first use). */
  claim?: ClaimRequest;
  dataset?: DatasetSource;
}

/** Where an env's own client finds a dataset, and the keys it uses (scoped to the env's datasets where the store can
 *  scope; never logged). `endpoint` is the store as guests reach it (object_stores guest_endpoint, else endpoint). */
export interface DatasetSource {
  endpoint: string;
  region: string;
  pathStyle: boolean;
  bucket: string;
  prefix: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** What a Kubernetes claim asks for (the driver resolves ceph to the backend's mapped class). */
export interface ClaimRequest {
  storageClass?: string;
  accessModes?: string[];
  ceph?: 'cephfs' | 'rbd';
  sizeGb?: number;
}

/** An NFS (or CephFS) export as the operator declared it; `path` includes the sub-directory, if any. */
export interface NfsSource {
  kind: 'nfs' | 'cephfs';
  server: string;
  path: string;
  version: string;
  options: string[];
  /** cephfs: the client name and the key read from the share's secret_file (never logged). */
  cephUser?: string;
  secret?: string;
  /** Directories Hangar makes before `path` is mounted (`base` + "/" + `sub` is `path`): `base` must exist, each
   *  directory of `sub` is made if missing (never through a symlink) and handed to LOGIN_UID:LOGIN_GID while root
   *  owns it. Absent: `path` must exist on the export. */
  make?: { base: string; sub: string };
}

/** hangar-agent for an env: its version (an env that has it at AGENT_VERSION_PATH already is not copied to again)
 *  and the static binary per CPU architecture, read only when a backend copies it. */
export interface AgentPayload {
  version: string;
  binary(arch: AgentArch): Promise<Buffer>;
}
export type AgentArch = 'amd64' | 'arm64';

export interface EnvSpec {
  envId: string;
  name: string;
  owner: string;
  /** k8s_pod / k8s_stateful / docker_local / vm: backends that offer several shapes choose by it. */
  deploymentMode?: string;
  /** GPU model (Kubernetes: nodeSelector on nvidia.com/gpu.product) and MIG profile (resource nvidia.com/mig-<p>). */
  gpuModel?: string | null;
  gpuProfile?: string | null;
  image: string;
  pullPolicy: PullPolicy;
  cpu: number | null;
  memoryMb: number | null;
  env: Record<string, string>;
  ports: PortMapping[];
  mounts: SpecMount[];
  /** storage_type, and the env's own home claim it asks for (pvc / ceph on Kubernetes). */
  storageType?: string;
  home?: ClaimRequest;
  /** Exact devices granted to this env (GPU-<uuid>, MIG-<uuid> or index); empty when gpu_mode is none. */
  gpus: { mode: GpuMode; deviceIds: string[]; count: number };
  /** Files written before start; the command runs /.hangar/init.sh which the gateway renders. */
  files: BootFile[];
  command: string[];
  /** Kubernetes extras: the owner's team (namespace_policy per-team), env vars from Secrets, the Service's
   *  exposure, a CronJob's schedule, and the user's command that a Job/CronJob pod runs instead of `command`. */
  team?: string | null;
  secretEnv?: Record<string, SecretKeyRef>;
  expose?: NetworkConfig['expose'];
  schedule?: string | null;
  runCommand?: string[] | null;
  /** Kept with the object so a row can be rebuilt after a restore (see EnvRecord). */
  record?: EnvRecord;
  /** ssh_server agent: hangar-agent to put at AGENT_PATH before the first start (each backend has its own way). */
  agent?: AgentPayload;
  /** Made already started: spares Kubernetes a scale-up pass. Drivers may ignore it; one that honours it declares
   *  `startedByCreate` (driver.ts) and provisioning then skips start(). */
  startNow?: boolean;
  /** Provisioning knows no object carries this envId (a first create, or findByEnvId found none): a driver whose
   *  create looks for one first (idempotency) may skip that. */
  absent?: boolean;
}

/** What the backend says about one environment. `missing` = the object is gone; `pending` = started but not
 *  placed yet (the message says why, e.g. the scheduler's reason). */
export type BackendState = 'created' | 'running' | 'stopped' | 'failed' | 'missing' | 'pending';
export interface BackendStatus {
  state: BackendState;
  message?: string;
  startedAt?: string;
}

/** An object found on the backend carrying our labels (used by reconciliation). */
export interface ManagedObject {
  ref: string;
  envId: string;
  state: BackendState;
  message?: string;
  record?: EnvRecord;
}

export interface LogOptions {
  tail?: number;
  follow?: boolean;
  timestamps?: boolean;
  signal?: AbortSignal;
}
export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}
export type ProgressFn = (message: string) => void;

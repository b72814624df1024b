// The one contract every backend implements: Docker hosts (dockerode), Kubernetes clusters (a Deployment/
// StatefulSet/Job per env) and libvirt hosts (a domain per env). Services speak only this interface.
import type { Duplex, Readable } from 'node:stream';
import type { BackendInfo, Environment, ExposedService, GpuMode, NetworkConfig, PortMapping, PullPolicy, SecretKeyRef, Snapshot, VmTemplate } from '../../common/model';
import type { GpuDevice } from '../gpu/types';
import type { TemplateImport } from './libvirt/templates';

/** A file placed into the environment before its first start (bootstrap script, keys, config). */
export interface BootFile { path: string; content: string | Buffer; mode: number }

/** What an env's row is rebuilt from when an admin adopts an orphan (services/orphans.ts). No secrets: the Jupyter
 *  token and desktop passwords stay in the env's own files. Backends keep it with the object (a Docker label). */
export type EnvRecord = Pick<Environment, 'name' | 'owner_id' | 'image' | 'image_pull_policy' | 'deployment_mode' | 'environment_type'
  | 'gpu_mode' | 'gpu_count' | 'gpu_device_ids' | 'gpu_model' | 'gpu_mig_profile' | 'cpu' | 'memory_mb' | 'ssh_user' | 'host_key'
  | 'storage_type' | 'storage_config' | 'network_config' | 'lifecycle_policy' | 'use_jumpserver' | 'vnc_port' | 'rdp_port' | 'schedule' | 'command' | 'created_at'>;

/** A mount as the backend gets it, resolved by the gateway (services/mounts.ts): a volume's `source` is its
 *  derived backend name (hangar-vol-<id>), a bind's is a path from the operator's host_paths. Never user input. */
export interface SpecMount { type: 'volume' | 'bind'; source: string; target: string; read_only?: boolean; size_gb?: number }

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
  /** Exact devices granted to this env (GPU-<uuid>, MIG-<uuid> or index); empty when gpu_mode is none. */
  gpus: { mode: GpuMode; deviceIds: string[]; count: number };
  /** Files written before start; the command runs /.hangar/init.sh which the service renders. */
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
  /** Made already started (start() follows at once anyway): spares Kubernetes a scale-up pass. Drivers may ignore it. */
  startNow?: boolean;
}

/** What the backend says about one environment. `missing` = the object is gone; `pending` = started but not
 *  placed yet (the message says why, e.g. the scheduler's reason). */
export type BackendState = 'created' | 'running' | 'stopped' | 'failed' | 'missing' | 'pending';
export interface BackendStatus { state: BackendState; message?: string; startedAt?: string }

/** An object found on the backend carrying our labels (used by reconciliation). */
export interface ManagedObject { ref: string; envId: string; state: BackendState; message?: string; record?: EnvRecord }

export interface LogOptions { tail?: number; follow?: boolean; timestamps?: boolean; signal?: AbortSignal }
export interface ExecResult { exitCode: number; stdout: string; stderr: string }
export type ProgressFn = (message: string) => void;

export interface Driver {
  readonly id: string;
  readonly kind: BackendInfo['kind'];
  /** Reachability and version. Throws BackendUnavailableError when the backend can't be reached. */
  info(): Promise<BackendInfo>;
  /** Makes the image available according to the pull policy; UnprocessableError when it can't be had. */
  ensureImage(image: string, policy: PullPolicy, onProgress?: ProgressFn, signal?: AbortSignal): Promise<void>;
  /** The image's labels (access protocols an image declares, e.g. dev.hangar.access.rstudio=8787). */
  imageLabels?(image: string): Promise<Record<string, string>>;
  /** Creates (does not start) the environment; idempotent for the same envId: returns the existing ref. */
  create(spec: EnvSpec, signal?: AbortSignal): Promise<string>;
  start(ref: string): Promise<void>;
  stop(ref: string, timeoutS: number): Promise<void>;
  restart(ref: string, timeoutS: number): Promise<void>;
  /** Removes the environment and everything we made for it; a missing object is not an error. */
  delete(ref: string): Promise<void>;
  inspect(ref: string): Promise<BackendStatus>;
  /** Everything on the backend that carries this gateway's labels. */
  list(): Promise<ManagedObject[]>;
  /** Finds the object created for envId (after a crash between create and recording the ref). */
  findByEnvId(envId: string): Promise<string | undefined>;
  logs(ref: string, opts: LogOptions): Promise<Readable>;
  /** A raw byte stream to a TCP port inside the environment (the tunnel's far end). */
  openPort(ref: string, port: number): Promise<Duplex>;
  exec(ref: string, cmd: string[], opts?: { user?: string; stdin?: string }): Promise<ExecResult>;
  /** Replaces files inside a live environment (e.g. authorized_keys after a key change). */
  writeFiles(ref: string, files: BootFile[]): Promise<void>;
  /** VM snapshots (libvirt: internal qcow2 snapshots, with memory when running); absent where a backend has none. */
  snapshot?(ref: string, name: string, description?: string): Promise<Snapshot>;
  snapshots?(ref: string): Promise<Snapshot[]>;
  revertSnapshot?(ref: string, name: string): Promise<void>;
  deleteSnapshot?(ref: string, name: string): Promise<void>;
  /** VM templates (the base images a libvirt host's envs boot from). */
  listTemplates?(): Promise<VmTemplate[]>;
  importTemplate?(req: TemplateImport, signal?: AbortSignal): Promise<VmTemplate>;
  deleteTemplate?(name: string): Promise<void>;
  /** What answers once the env is up (default ssh): a Windows VM answers RDP, a VNC-only VM just runs. */
  readiness?(ref: string): Promise<'ssh' | 'rdp' | 'running'>;
  /** How long "running" may take after start (a VM boots; a container starts); default 60 s. */
  readonly readyTimeoutMs?: number;
  /** Backends that know when an env is ready (Kubernetes: pod Ready) say so here; otherwise the service waits
   *  for the SSH banner through openPort. Resolves with the state it settled in when that isn't plain running:
   *  `pending` (can't be placed yet; the watch reports when it is), `stopped`/`failed` (a Job that already ended). */
  waitReady?(ref: string, signal?: AbortSignal): Promise<BackendStatus | void>;
  /** Checks a spec with the backend before anything is recorded (Kubernetes: a server-side dry run of the pod, so
   *  a LimitRange or ResourceQuota refuses it at create time); UnprocessableError with the backend's message. */
  preflight?(spec: EnvSpec): Promise<void>;
  /** Pushes status changes of this backend's environments as they happen (Kubernetes: watches). `onResync` is
   *  called after the watch was lost and re-established (events may have been missed: reconcile). Returns stop. */
  watch?(onChange: (envId: string, status: BackendStatus) => void, onResync: () => void): () => void;
  /** How an env is reachable from outside its backend when network_config.expose asks (NodePort/LoadBalancer). */
  exposure?(ref: string): Promise<ExposedService | undefined>;
  /** The GPUs this backend has (nvidia-smi on a Docker host, node resources on a cluster, mdev/PCI on libvirt).
   *  Throws when the host answers but its GPUs can't be read. */
  inventory?(): Promise<GpuDevice[]>;
  close?(): Promise<void>;
}

export const LABELS = {
  managed: 'dev.hangar.managed',
  gateway: 'dev.hangar.gateway',
  backend: 'dev.hangar.backend',
  envId: 'dev.hangar.env-id',
  envName: 'dev.hangar.env-name',
  owner: 'dev.hangar.owner',
  /** JSON EnvRecord: what adopting the object rebuilds its row from. */
  record: 'dev.hangar.record',
} as const;

/** A record label's JSON, or undefined when absent or not one (an object made before records, or by hand). */
export function parseRecord(raw: string | undefined): EnvRecord | undefined {
  if (!raw) return undefined;
  try {
    const r = JSON.parse(raw) as EnvRecord;
    return r && typeof r.name === 'string' && typeof r.owner_id === 'string' && typeof r.image === 'string' ? r : undefined;
  } catch {
    return undefined;
  }
}

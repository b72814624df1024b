// The core every backend implements: Docker hosts (dockerode), Kubernetes clusters (a Deployment/StatefulSet/Job
// per env) and libvirt hosts (a domain per env). What only some backends can do is a capability (capabilities.ts).
import type { Duplex, Readable } from 'node:stream';
import type { BackendInfo, DeploymentMode, GpuMode, NetworkConfig, PortMapping, PullPolicy, SecretKeyRef } from '../../common/model';
import type { BootFile } from './boot';
import type { Capabilities } from './capabilities';
import type { EnvRecord } from './labels';

/** A mount as the backend gets it, resolved by the gateway (environments/mounts.ts): a volume's `source` is its
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
  /** The deployment modes this backend serves (a create asking for another is refused). */
  readonly modes: readonly DeploymentMode[];
  /** What it can do beyond the core; ask with capability(driver, name). */
  readonly capabilities: Capabilities;
  /** How long "running" may take after start (a VM boots; a container starts); default 60 s. */
  readonly readyTimeoutMs?: number;
  /** The port the env's sshd listens on inside (default SSH_PORT); openPort(SSH_PORT) reaches it. */
  readonly sshPort?: number;
  /** Reachability and version. Throws BackendUnavailableError when the backend can't be reached. */
  info(): Promise<BackendInfo>;
  /** Makes the image available according to the pull policy; UnprocessableError when it can't be had. */
  ensureImage(image: string, policy: PullPolicy, onProgress?: ProgressFn, signal?: AbortSignal): Promise<void>;
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
  /** A raw byte stream to a TCP port inside the environment (the tunnel's far end). NoNetworkAddressError (errors.ts)
   *  for an env that runs without an address yet. */
  openPort(ref: string, port: number): Promise<Duplex>;
  exec(ref: string, cmd: string[], opts?: { user?: string; stdin?: string }): Promise<ExecResult>;
  /** Replaces files inside a live environment (e.g. authorized_keys after a key change). */
  writeFiles(ref: string, files: BootFile[]): Promise<void>;
  close(): Promise<void>;
}

/** Backends by id: what services are given instead of the registry's construction (backends/registry.ts). */
export interface Backends {
  readonly defaultId: string;
  get(id: string): Driver;
  has(id: string): boolean;
  all(): Driver[];
}

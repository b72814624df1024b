// The core every backend implements: Docker hosts (dockerode), Kubernetes clusters (a Deployment/StatefulSet/Job
// per env) and libvirt hosts (a domain per env). What only some backends can do is a capability (capabilities.ts).
import type { Duplex, Readable } from 'node:stream';
import type { BackendInfo, DeploymentMode, PullPolicy } from '../../common/model';
import type { BootFile } from './boot';
import type { Capabilities } from './capabilities';
import type { BackendStatus, EnvSpec, ExecResult, LogOptions, ManagedObject, ProgressFn } from './spec';

export interface Driver {
  readonly id: string;
  readonly kind: BackendInfo['kind'];
  /** The deployment modes this backend serves (a create asking for another is refused). */
  readonly modes: readonly DeploymentMode[];
  /** What it can do beyond the core; ask with capability(driver, name). */
  readonly capabilities: Capabilities;
  /** How long "running" may take after start (a VM boots; a container starts); default 60 s. */
  readonly readyTimeoutMs?: number;
  /** How often readiness asks while it waits (readiness.ts): the first delay, growing by `factor` up to `maxMs`.
   *  A container answers within a few hundred ms, and asking it costs a refused connect: ask often. Absent:
   *  50 ms growing to 500 (a booting VM). */
  readonly readyPoll?: { intervalMs: number; factor: number; maxMs: number };
  /** true: a create with spec.startNow leaves the object started (Kubernetes: replicas 1, not suspended), so a
   *  provision that has just made it does not call start() as well (a round trip that changes nothing). */
  readonly startedByCreate?: boolean;
  /** The port the env's sshd listens on inside (default SSH_PORT); openPort(SSH_PORT) reaches it. */
  readonly sshPort?: number;
  /** Whether it can put hangar-agent into an env (ssh_server agent); absent: it can. Where it can't, creates that
   *  name no ssh_server get the image's sshd, and an explicit agent is refused. */
  readonly placesAgent?: boolean;
  /** false: creates that name no ssh_server get the image's sshd even here (VM templates are whole systems with
   *  their own); an explicit agent still works. Absent: default_ssh_server applies. */
  readonly agentByDefault?: boolean;
  /** Where the host ports it publishes (vnc_port, rdp_port) bind when that is on this machine (a local engine or
   *  libvirt): a port something already listens on there is not handed out. Absent: a remote host, not checkable. */
  readonly localPublishAddress?: string;
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

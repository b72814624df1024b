// The user's data model (requirements §二): enum values are the user's words and must not change.
// k8s_job / k8s_cronjob: batch training as a Job, scheduled training as a CronJob (added to the user's words).
export const DEPLOYMENT_MODES = [
  'k8s_pod',
  'k8s_stateful',
  'docker_local',
  'vm',
  'bare_metal',
  'k8s_job',
  'k8s_cronjob',
] as const;
export const ENVIRONMENT_TYPES = ['ide', 'terminal', 'desktop', 'training', 'inference', 'data_process'] as const;
export const GPU_MODES = ['exclusive', 'vgpu', 'mig', 'shared', 'none'] as const;
export const STORAGE_TYPES = ['local', 'nfs', 'ceph', 's3', 'pvc'] as const;
export const LIFECYCLE_POLICIES = ['persistent', 'ephemeral', 'scheduled', 'on_demand'] as const;
export const PULL_POLICIES = ['always', 'if-not-present', 'never'] as const;
/** `pending`: started, but the backend can't place it yet (Kubernetes: the scheduler's reason in status_message). */
export const ENV_STATUSES = [
  'creating',
  'starting',
  'running',
  'stopping',
  'stopped',
  'failed',
  'missing',
  'deleting',
  'pending',
] as const;

export type DeploymentMode = (typeof DEPLOYMENT_MODES)[number];
export type EnvironmentType = (typeof ENVIRONMENT_TYPES)[number];
export type GpuMode = (typeof GPU_MODES)[number];
export type StorageType = (typeof STORAGE_TYPES)[number];
export type LifecyclePolicy = (typeof LIFECYCLE_POLICIES)[number];
export type PullPolicy = (typeof PULL_POLICIES)[number];
export type EnvStatus = (typeof ENV_STATUSES)[number];

export interface PortMapping {
  /** Port inside the environment. */
  container_port: number;
  /** Port on the backend host; 0 or absent lets the engine choose. */
  host_port?: number;
  /** Address on the backend host; default 127.0.0.1 (never all interfaces unless asked). */
  host_ip?: string;
  protocol?: 'tcp' | 'udp';
}

export interface Mount {
  /** volume: NAME (the caller's own, made when missing), team:NAME or id:ID; host_path: a host_paths entry's name.
   *  bind (a raw host path) is refused. */
  source: string;
  target: string;
  read_only?: boolean;
  type: 'volume' | 'host_path' | 'bind' | 'share' | 'dataset';
  /** share: a sub-directory of the export (relative, no ".."); `{user}` / `{env}` segments: see common/schemas.ts. */
  sub_path?: string;
  /** Set by the gateway (shares): the directories of sub_path below this prefix ('' = the export) are made by Hangar,
   *  owned by the login user. Absent: sub_path must exist on the export. */
  make_below?: string;
  /** Set by the gateway: the dataset this mount resolved to. */
  dataset_id?: string;
  /** Set by the gateway: the volume this mount resolved to. */
  volume_id?: string;
  /** VMs: size of the data disk a new named volume becomes; Kubernetes: the size its claim asks for. */
  size_gb?: number;
  /** Kubernetes, a volume this mount makes: its claim's StorageClass, access modes, or the backend's Ceph class. */
  storage_class?: string;
  access_modes?: AccessMode[];
  ceph?: CephKind;
}

/** Kubernetes access modes of a claim. */
export const ACCESS_MODES = ['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod'] as const;
export type AccessMode = (typeof ACCESS_MODES)[number];
/** The backend's mapped Ceph classes: cephfs (shared file system, ReadWriteMany) or rbd (block, ReadWriteOnce). */
export type CephKind = 'cephfs' | 'rbd';

/** storage_config.home (storage_type pvc / ceph on Kubernetes): the env's own home claim. */
export interface HomeClaim {
  size_gb?: number;
  storage_class?: string;
  access_modes?: AccessMode[];
  ceph?: CephKind;
}

import type { LifecycleConfig, NextAction } from './lifecycle';

export interface StorageConfig {
  mounts?: Mount[];
  home?: HomeClaim;
  [key: string]: unknown;
}

export interface NetworkConfig {
  ports?: PortMapping[];
  /** Address published ports bind to when a mapping names none. */
  host_ip?: string;
  /** Kubernetes: how the env's Service is reachable from outside the cluster (absent: ClusterIP only). */
  expose?: 'node_port' | 'load_balancer';
  [key: string]: unknown;
}

/** An env var whose value comes from a key of a Secret in the env's namespace (Kubernetes secretKeyRef). */
export interface SecretKeyRef {
  secret: string;
  key: string;
}

export const SSH_SERVERS = ['agent', 'image'] as const;
export type SshServer = (typeof SSH_SERVERS)[number];

export interface Environment {
  id: string;
  name: string;
  owner_id: string;
  owner_name?: string;
  deployment_mode: DeploymentMode;
  environment_type: EnvironmentType;
  gpu_mode: GpuMode;
  storage_type: StorageType;
  storage_config: StorageConfig | null;
  lifecycle_policy: LifecyclePolicy;
  /** What the policy does when (see common/lifecycle.ts); null: the team's and the gateway's defaults. */
  lifecycle_config?: LifecycleConfig | null;
  /** The next automatic action (stop/delete/start/none), when and why; filled in by the API. */
  next_action?: NextAction | null;
  network_config: NetworkConfig | null;
  use_jumpserver: boolean;
  vnc_port: number | null;
  /** Desktop envs: host port of RDP (xrdp) when the image has it; unique per backend like vnc_port. */
  rdp_port: number | null;
  /** Never returned by list/get; only through the connection endpoint. */
  vnc_password?: never;
  backend_id: string;
  backend_ref: string | null;
  image: string;
  image_pull_policy: PullPolicy;
  cpu: number | null;
  memory_mb: number | null;
  gpu_count: number;
  gpu_device_ids: string[];
  /** Wanted model (substring of the product name, e.g. "A100" or "H100 80GB"); null: any. */
  gpu_model: string | null;
  /** MIG profile for gpu_mode mig, e.g. "1g.10gb". */
  gpu_mig_profile: string | null;
  env_vars: Record<string, string>;
  /** Kubernetes: env vars read from Secrets the user keeps in the env's namespace. The API always returns the
   *  three fields below; optional here so older clients' literals still type-check. */
  env_vars_from_secrets?: Record<string, SecretKeyRef>;
  /** k8s_cronjob: cron expression (5 fields or @hourly/@daily/...); null otherwise. */
  schedule?: string | null;
  /** k8s_job / k8s_cronjob: the command (argv) the pod runs; null: the usual SSH environment. */
  command?: string[] | null;
  ssh_user: string;
  /** Which SSH server answers port 22: the image's own sshd, or hangar-agent (which Hangar puts in). */
  ssh_server: SshServer;
  /** The profile it was created from (null: a custom create) and the options chosen; see /profile-drift. */
  profile?: string | null;
  profile_options?: Record<string, unknown> | null;
  host_key: string | null;
  status: EnvStatus;
  status_message: string | null;
  created_at: string;
  updated_at: string;
}

/** hangar-agent's own count of what is open in its env (GET /environments/:id/activity). */
export interface AgentStatus {
  version: string;
  started_at: string;
  updated_at: string;
  /** SSH connections open (the gateway's probe is not one). */
  connections: number;
  sessions: { shell: number; exec: number; sftp: number; forward: number };
}

/** POST /environments/{id}/datasets/sync: each read-write dataset of the env copied back to its prefix now. */
export interface DatasetsSynced {
  environment_id: string;
  datasets: { source: string; target: string; ok: boolean; message?: string }[];
}

/** What is open in an env: tunnels through this gateway by kind, and the agent's sessions (null: no agent answered). */
export interface EnvActivity {
  gateway: Partial<Record<'ssh' | 'port' | 'jupyter' | 'vnc' | 'rdp', number>>;
  agent: AgentStatus | null;
}

export interface ConnectionInfo {
  environment_id: string;
  name: string;
  ssh: {
    user: string;
    host_alias: string;
    host_key: string | null;
    /** The gateway's tunnel; absent when direct access is refused (direct_refused). */
    tunnel_path?: string;
    proxy_command?: string;
  };
  jupyter?: { url: string; token: string; port: number };
  /** use_jumpserver envs once registered: the KoKo route (ssh -p port user@host), user being jmsuser@account@asset.
   *  required: the gateway's own route (ssh above) is refused for this env. */
  jumpserver?: {
    host: string;
    port: number;
    user: string;
    asset: string;
    account: string;
    required: boolean;
    /** What the asset serves through JumpServer: ssh, and rdp/vnc for desktops. */
    protocols?: ('ssh' | 'rdp' | 'vnc')[];
    /** Luna (JumpServer's web terminal) at this asset: SSH in the browser, RDP/VNC through Lion. */
    web_url?: string;
    /** RDP through JumpServer: POST `path` for the .rdp file JumpServer issues (a fresh connection token each time). */
    rdp?: { account: string; path: string };
    vnc?: { account: string };
  };
  /** Set when the gateway's own routes are refused for this env (jumpserver.required): why. The direct routes
   *  (ssh.tunnel_path/proxy_command, jupyter, vnc, rdp, declared, exposed) are then left out. */
  direct_refused?: { rule: string; reason: string };
  /** VNC (desktop envs): vnc_port is published on the backend host; websocket_path bridges to it through the gateway. */
  vnc?: { port: number | null; password: string | null; websocket_path: string };
  /** Protocols the image declares with labels `dev.hangar.access.<protocol>=<port>` (e.g. rstudio, nomachine):
   *  reachable through the gateway's tunnel on that port. */
  declared?: { protocol: string; port: number; tunnel_path: string }[];
  /** RDP (desktop envs whose image has xrdp): where to connect, the login, and a ready .rdp file. */
  rdp?: { host: string; port: number; user: string; password: string; rdp_file: string };
  /** Kubernetes envs with network_config.expose: the Service's type, node ports, and the addresses to use. */
  exposed?: ExposedService;
}

/** POST /environments/:id/rdp: an RDP login and its .rdp file, through JumpServer (a fresh connection token: the
 *  password is its value) or direct (xrdp's login password). */
export interface RdpLogin {
  via: 'jumpserver' | 'direct';
  filename: string;
  rdp_file: string;
  host: string;
  port: number;
  user: string;
  password: string;
  /** Through JumpServer: seconds the token (the password) stays valid. */
  expire_time?: number;
}

export interface ExposedService {
  type: 'NodePort' | 'LoadBalancer';
  /** Node addresses (NodePort) or the load balancer's ingress (empty while it is being provisioned). */
  hosts: string[];
  ports: { name: string; port: number; node_port: number | null }[];
}

export interface BackendInfo {
  id: string;
  kind: 'docker' | 'kubernetes' | 'libvirt' | 'ssh';
  url: string;
  available: boolean;
  error?: string;
  version?: string;
}

export interface EnvEvent {
  type:
    | 'environment.status'
    | 'environment.created'
    | 'environment.deleted'
    | 'environment.updated'
    /** An automatic start/stop/delete by the lifecycle policy (action and reason), or an extension. */
    | 'environment.lifecycle';
  environment_id: string;
  action?: string;
  reason?: string;
  owner_id: string;
  status?: EnvStatus;
  message?: string | null;
  at: string;
}

export interface SshKey {
  id: string;
  name: string;
  public_key: string;
  fingerprint: string;
  created_at: string;
}

export interface User {
  id: string;
  name: string;
  role: 'admin' | 'user';
  /** Kubernetes namespace_policy per-team puts the user's envs in the team's namespace. */
  team?: string | null;
  created_at: string;
}

/** A grantable unit: a whole GPU, a MIG instance, a vGPU (mdev) type, or a Kubernetes node's GPU resource. */
export interface GpuDevice {
  /** GPU-<uuid>, MIG-<uuid>; for Kubernetes `<node>/<resource>`; for mdev `<parent pci>/<type>`. */
  id: string;
  backend_id: string;
  /** Host or cluster node the device is on. */
  node: string;
  kind: 'gpu' | 'mig' | 'mdev' | 'k8s';
  index: number | null;
  model: string;
  memory_mb: number | null;
  pci_bus_id: string | null;
  driver: string | null;
  /** For whole GPUs: whether MIG is on (then only its instances are granted). */
  mig_mode: 'enabled' | 'disabled' | 'n/a';
  parent_id: string | null;
  /** MIG profile (1g.10gb), mdev type, or Kubernetes resource name. */
  profile: string | null;
  utilization: number | null;
  health: 'ok' | 'error';
  health_message: string | null;
  /** How many grants it can hold: 1 for exclusive use; replicas for time-slicing; N for a node's resource. */
  capacity: number;
  /** Units in use that the daemon did not grant (Kubernetes: requested by scheduled, non-terminated pods). */
  used?: number;
  /** False once a refresh no longer saw it: kept, marked, never silently forgotten. */
  present: boolean;
  last_seen: string;
}

export interface GpuInfo extends GpuDevice {
  /** Units still grantable (capacity minus grants; 0 when an exclusive grant holds it). */
  free: number;
  holders: { env_id: string; env_name: string; owner_id: string; mode: string }[];
}

/** A VM base image on a libvirt host (deployment_mode vm): the env's `image` names it. */
export interface VmTemplate {
  name: string;
  backend_id: string;
  os: string;
  /** The image's own default account (cloud images: debian, ubuntu, …); the env's ssh_user is made by Hangar. */
  default_user: string;
  cloud_init: boolean;
  /** bios/uefi: the disk boots itself; direct-kernel: the template carries a kernel and initrd. */
  firmware: 'bios' | 'uefi' | 'direct-kernel';
  cmdline?: string;
  /** What the template offers: ssh (Linux with cloud-init), vnc (the VM's own display), rdp (Windows). */
  access: ('ssh' | 'vnc' | 'rdp')[];
  disk_bytes: number;
  created_at: string;
  /** Environments whose disks are overlays on it (a template in use can't be deleted). */
  used_by?: string[];
}

/** A VM snapshot: with memory (the VM resumes where it was) or disk only. */
export interface Snapshot {
  name: string;
  created_at: string;
  /** The VM's state when it was taken: running (memory included) or shutoff (disk only). */
  state: string;
  description: string | null;
  current: boolean;
}

/** A named volume: owned by a user or a team, its backend name derived from its id (never from input). */
export interface Volume {
  id: string;
  name: string;
  owner_id: string | null;
  team: string | null;
  backend_id: string;
  /** What the backend calls it (hangar-vol-<id>). */
  backend_name: string;
  size_gb: number | null;
  created_at: string;
  /** Kubernetes: what its claim asked for (null elsewhere, or the backend's defaults). */
  storage_class?: string | null;
  access_modes?: AccessMode[] | null;
  ceph?: CephKind | null;
  /** What the backend says of it now, where it can (Kubernetes: the claim's phase, capacity, why it is pending). */
  state?: VolumeState;
  /** The environments whose storage_config mounts it. */
  mounted_by?: { id: string; name: string }[];
}

/** A volume's backend object now: Bound/Pending/Lost (Kubernetes), its class and capacity, and why it waits. */
export interface VolumeState {
  phase: string;
  storage_class?: string;
  capacity_gb?: number;
  message?: string;
}

/** A dataset: a named bucket + prefix on one of the operator's object stores, owned by a user or a team. Size and
 *  count are of completed objects only (an upload in flight or cut half-way is not in them). */
export interface Dataset {
  id: string;
  name: string;
  owner_id: string | null;
  team: string | null;
  store: string;
  bucket: string;
  prefix: string;
  description: string;
  tags: string[];
  size_bytes: number;
  object_count: number;
  created_at: string;
  updated_at: string;
  /** The environments whose storage_config mounts it. */
  mounted_by: { id: string; name: string }[];
}

export interface DatasetObject {
  key: string;
  size: number;
  last_modified: string | null;
  etag: string | null;
}

/** An object store as users see it: its name, whether it answers, whether it hands out presigned URLs. */
export interface ObjectStoreStatus {
  name: string;
  ok: boolean;
  problem?: string;
  presign: boolean;
}

/** GET /storage: what the caller may mount, by name. */
export interface StorageOverview {
  volumes: Volume[];
  shares: { name: string; kind: string; read_only: boolean; sub_directories: string }[];
  host_paths: { name: string; read_only: boolean }[];
}

/** A backend object with this gateway's labels and no row (a restored database, another data dir): kept until an
 *  admin adopts or removes it. `ref` is its env id. */
export interface Orphan {
  ref: string;
  backend_id: string;
  backend_ref: string;
  state: string;
  name?: string;
  owner_id?: string;
  image?: string;
  deployment_mode?: string;
  /** Whether its labels hold what a row needs (adopt works). */
  adoptable: boolean;
}

/** One row of the audit trail (GET /api/v1/audit). */
export interface AuditEntry {
  id: number;
  at: string;
  user_id: string | null;
  /** The user's name (null: unauthenticated, or the gateway itself). */
  user: string | null;
  action: string;
  target: string | null;
  detail: string | null;
  /** X-Hangar-Client (hangar-cli/…, hangar-vscode/…) or the User-Agent. */
  client: string | null;
  address: string | null;
  /** ok, or the error code of the answer. */
  result: string | null;
  status: number | null;
}

export interface AuditPage {
  entries: AuditEntry[];
  /** Pass as ?cursor= for the next (older) page; null at the end. */
  next_cursor: string | null;
}

/** GET /api/v1/jumpserver: whether JumpServer is configured, answers, and as whom. */
export interface JumpServerStatus {
  configured: boolean;
  url?: string;
  org_id?: string;
  available?: boolean;
  as?: string;
  error?: string;
  required?: boolean;
  koko?: { host: string; port: number };
  registered?: number;
}

// The user's data model (requirements §二): enum values are the user's words and must not change.
export const DEPLOYMENT_MODES = ['k8s_pod', 'k8s_stateful', 'docker_local', 'vm', 'bare_metal'] as const;
export const ENVIRONMENT_TYPES = ['ide', 'terminal', 'desktop', 'training', 'inference', 'data_process'] as const;
export const GPU_MODES = ['exclusive', 'vgpu', 'mig', 'shared', 'none'] as const;
export const STORAGE_TYPES = ['local', 'nfs', 'ceph', 's3', 'pvc'] as const;
export const LIFECYCLE_POLICIES = ['persistent', 'ephemeral', 'scheduled', 'on_demand'] as const;
export const PULL_POLICIES = ['always', 'if-not-present', 'never'] as const;
export const ENV_STATUSES = ['creating', 'starting', 'running', 'stopping', 'stopped', 'failed', 'missing', 'deleting'] as const;

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
  /** A named volume (created when missing) or an absolute host path. */
  source: string;
  target: string;
  read_only?: boolean;
  type: 'volume' | 'bind';
}

export interface StorageConfig {
  mounts?: Mount[];
  [key: string]: unknown;
}

export interface NetworkConfig {
  ports?: PortMapping[];
  /** Address published ports bind to when a mapping names none. */
  host_ip?: string;
  [key: string]: unknown;
}

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
  ssh_user: string;
  host_key: string | null;
  status: EnvStatus;
  status_message: string | null;
  created_at: string;
  updated_at: string;
}

export interface ConnectionInfo {
  environment_id: string;
  name: string;
  ssh: {
    user: string;
    host_alias: string;
    host_key: string | null;
    tunnel_path: string;
    proxy_command: string;
  };
  jupyter?: { url: string; token: string; port: number };
  /** VNC (desktop envs): vnc_port is published on the backend host; websocket_path bridges to it through the gateway. */
  vnc?: { port: number | null; password: string | null; websocket_path: string };
  /** Protocols the image declares with labels `dev.hangar.access.<protocol>=<port>` (e.g. rstudio, nomachine):
   *  reachable through the gateway's tunnel on that port. */
  declared?: { protocol: string; port: number; tunnel_path: string }[];
  /** RDP (desktop envs whose image has xrdp): where to connect, the login, and a ready .rdp file. */
  rdp?: { host: string; port: number; user: string; password: string; rdp_file: string };
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
  type: 'environment.status' | 'environment.created' | 'environment.deleted' | 'environment.updated';
  environment_id: string;
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
  /** False once a refresh no longer saw it: kept, marked, never silently forgotten. */
  present: boolean;
  last_seen: string;
}

export interface GpuInfo extends GpuDevice {
  /** Units still grantable (capacity minus grants; 0 when an exclusive grant holds it). */
  free: number;
  holders: { env_id: string; env_name: string; owner_id: string; mode: string }[];
}

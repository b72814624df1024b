// Table shapes as the query builder sees them. JSON columns are TEXT on SQLite (JSONB on PostgreSQL later);
// repositories encode/decode them so services only see domain objects.
import type { ColumnType, Generated } from 'kysely';

export interface UsersTable {
  id: string;
  name: string;
  role: 'admin' | 'user';
  team: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: string;
}
export interface ApiTokensTable {
  id: string;
  user_id: string;
  name: string;
  token_hash: string;
  created_at: string;
  last_used_at: string | null;
}
export interface SshKeysTable {
  id: string;
  user_id: string;
  name: string;
  public_key: string;
  fingerprint: string;
  created_at: string;
}
export interface EnvironmentsTable {
  id: string;
  name: string;
  owner_id: string;
  deployment_mode: string;
  environment_type: string;
  gpu_mode: string;
  storage_type: string;
  storage_config: string | null;
  lifecycle_policy: string;
  network_config: string | null;
  use_jumpserver: ColumnType<number, number, number>;
  vnc_port: number | null;
  vnc_password: string | null;
  rdp_port: number | null;
  rdp_password: string | null;
  declared_access: string | null;
  backend_id: string;
  backend_ref: string | null;
  image: string;
  image_pull_policy: string;
  cpu: number | null;
  memory_mb: number | null;
  gpu_count: number;
  gpu_device_ids: string;
  gpu_model: string | null;
  gpu_mig_profile: string | null;
  env_vars: string;
  /** JSON {NAME: {secret, key}} (Kubernetes secretKeyRef). */
  env_secrets: ColumnType<string, string | undefined, string>;
  schedule: ColumnType<string | null, string | null | undefined, string | null>;
  /** JSON argv or null. */
  command: ColumnType<string | null, string | null | undefined, string | null>;
  ssh_user: string;
  /** 'image' (the image's sshd) or 'agent' (hangar-agent); rows older than migration 014 are 'image'. */
  ssh_server: ColumnType<string, string | undefined, string>;
  /** The profile it came from, the options chosen (JSON) and the resolved fields then (JSON {hash, fields}). */
  profile: ColumnType<string | null, string | null | undefined, string | null>;
  profile_options: ColumnType<string | null, string | null | undefined, string | null>;
  profile_snapshot: ColumnType<string | null, string | null | undefined, string | null>;
  host_key: string | null;
  jupyter_token: string | null;
  status: string;
  status_message: string | null;
  created_at: string;
  updated_at: string;
  /** Lifecycle (008): JSON config and the timestamps deadlines derive from. */
  lifecycle_config: Opt;
  started_at: Opt;
  stopped_at: Opt;
  last_activity_at: Opt;
  extended_until: Opt;
  lifecycle_pending: Opt;
  /** Moved on by a trigger at every UPDATE (019). */
  row_version: Generated<number>;
}
type Opt = ColumnType<string | null, string | null | undefined, string | null>;
export interface GpuUsageTable {
  hour: string;
  env_id: string;
  owner_id: string;
  team: string | null;
  held_s: ColumnType<number, number | undefined, number>;
  busy_s: ColumnType<number, number | undefined, number>;
  reclaimed_s: ColumnType<number, number | undefined, number>;
}
export interface AuditLogTable {
  id: Generated<number>;
  at: string;
  user_id: string | null;
  action: string;
  target: string | null;
  detail: string | null;
  client: string | null;
  address: string | null;
  result: string | null;
  status: number | null;
}

export interface JumpServerAssetsTable {
  env_id: string;
  asset_name: string;
  asset_id: string | null;
  account_id: string | null;
  permission_id: string | null;
  port: number;
  /** Desktop envs (migration 015): gateway ports of the RDP / VNC endpoints; null when not served. */
  rdp_port: number | null;
  vnc_port: number | null;
  public_key: string;
  private_key_sealed: string;
  active: number;
  error: string | null;
  updated_at: string;
}

export interface GpusTable {
  id: string;
  backend_id: string;
  node: string;
  kind: string;
  idx: number | null;
  model: string;
  memory_mb: number | null;
  pci_bus_id: string | null;
  driver: string | null;
  mig_mode: string;
  parent_id: string | null;
  profile: string | null;
  utilization: number | null;
  health: string;
  health_message: string | null;
  capacity: number;
  used: ColumnType<number, number | undefined, number>;
  present: ColumnType<number, number, number>;
  last_seen: string;
}
export interface GpuGrantsTable {
  id: string;
  env_id: string;
  device_id: string;
  mode: string;
  created_at: string;
}

export interface VolumesTable {
  id: string;
  name: string;
  owner_id: string | null;
  team: string | null;
  backend_id: string;
  size_gb: number | null;
  created_at: string;
  /** Kubernetes claims (migration 012): the class asked for, access modes (JSON array), a Ceph kind. */
  storage_class?: string | null;
  access_modes?: string | null;
  ceph?: string | null;
}
export interface ProfilesTable {
  name: string;
  /** JSON: the Profile as validated. */
  definition: string;
  created_at: string;
  updated_at: string;
}
export interface MetaTable {
  key: string;
  value: string;
}

export interface DatasetsTable {
  id: string;
  name: string;
  owner_id: string | null;
  team: string | null;
  store: string;
  bucket: string;
  prefix: string;
  description: string;
  /** JSON array of strings. */
  tags: string;
  size_bytes: number;
  object_count: number;
  created_at: string;
  updated_at: string;
}

export interface VolumeSnapshotsTable {
  id: string;
  volume_id: string;
  name: string;
  backend_id: string;
  /** archive (Docker: a tar in the backup store), csi (a Kubernetes VolumeSnapshot), disk (a VM data disk copy). */
  kind: string;
  status: string;
  message: string | null;
  store: string | null;
  object_key: string | null;
  size_bytes: number | null;
  sha256: string | null;
  created_by: string;
  created_at: string;
}
export interface BackupSchedulesTable {
  id: string;
  target_kind: string;
  target_id: string;
  owner_id: string;
  cron: string;
  timezone: string;
  keep: number;
  enabled: number;
  last_run_at: string | null;
  created_at: string;
}
export interface BackupsTable {
  id: string;
  target_kind: string;
  target_id: string;
  owner_id: string;
  trigger: string;
  status: string;
  message: string | null;
  store: string;
  size_bytes: number;
  objects: number;
  started_at: string;
  finished_at: string | null;
}
export interface BackupItemsTable {
  backup_id: string;
  /** home, or volume:<volume id> */
  item: string;
  volume_id: string | null;
  path: string | null;
  object_key: string;
  size_bytes: number;
  sha256: string;
}

export interface Database {
  datasets: DatasetsTable;

  volume_snapshots: VolumeSnapshotsTable;
  backup_schedules: BackupSchedulesTable;
  backups: BackupsTable;
  backup_items: BackupItemsTable;
  volumes: VolumesTable;
  meta: MetaTable;
  profiles: ProfilesTable;
  gpus: GpusTable;
  gpu_grants: GpuGrantsTable;
  users: UsersTable;
  api_tokens: ApiTokensTable;
  ssh_keys: SshKeysTable;
  environments: EnvironmentsTable;
  audit_log: AuditLogTable;
  gpu_usage: GpuUsageTable;
  jumpserver_assets: JumpServerAssetsTable;
}

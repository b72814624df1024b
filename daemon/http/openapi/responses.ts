// Response bodies. Enums come from common/model so they can't drift; objects stay open (new fields are not a break).
import { z } from 'zod';
import {
  DEPLOYMENT_MODES,
  ENVIRONMENT_TYPES,
  ENV_STATUSES,
  GPU_MODES,
  LIFECYCLE_POLICIES,
  PULL_POLICIES,
  SSH_SERVERS,
  STORAGE_TYPES,
} from '../../../common/model';

const nullableObject = z.record(z.unknown()).nullable();
const time = z.string().describe('ISO 8601 time');

export const environmentSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    owner_id: z.string(),
    owner_name: z.string().optional(),
    image: z.string(),
    deployment_mode: z.enum(DEPLOYMENT_MODES),
    environment_type: z.enum(ENVIRONMENT_TYPES),
    gpu_mode: z.enum(GPU_MODES),
    storage_type: z.enum(STORAGE_TYPES),
    storage_config: nullableObject,
    lifecycle_policy: z.enum(LIFECYCLE_POLICIES),
    lifecycle_config: nullableObject.optional(),
    next_action: z
      .object({
        action: z.enum(['stop', 'delete', 'start', 'none']),
        at: time.nullable(),
        reason: z.string().describe('why: "idle 30 min", "schedule: 0 20 * * 1-5", "ephemeral TTL", "max lifetime"'),
      })
      .nullable()
      .optional()
      .describe("The lifecycle policy's next automatic action, when and why"),
    network_config: nullableObject,
    use_jumpserver: z.boolean(),
    vnc_port: z.number().int().nullable(),
    rdp_port: z.number().int().nullable(),
    backend_id: z.string(),
    backend_ref: z.string().nullable(),
    image_pull_policy: z.enum(PULL_POLICIES),
    cpu: z.number().nullable(),
    memory_mb: z.number().int().nullable(),
    gpu_count: z.number().int(),
    gpu_device_ids: z.array(z.string()),
    gpu_model: z.string().nullable(),
    gpu_mig_profile: z.string().nullable(),
    env_vars: z.record(z.string()),
    ssh_user: z.string(),
    ssh_server: z
      .enum(SSH_SERVERS)
      .describe("What answers SSH inside: agent (hangar-agent, put in by Hangar) or image (the image's own sshd)"),
    profile: z.string().nullable().describe('The profile it was made from; null: a custom create'),
    profile_options: z.record(z.unknown()).nullable().describe('The options chosen'),
    host_key: z.string().nullable().describe("The env's SSH host public key (pinned by clients)"),
    status: z
      .enum(ENV_STATUSES)
      .describe(
        "pending: started but not placed yet (Kubernetes: status_message is the scheduler's reason); it becomes running when the scheduler places it",
      ),
    status_message: z.string().nullable(),
    created_at: time,
    updated_at: time,
  })
  .passthrough()
  .openapi('Environment');

const count = z.number().int().min(0);
export const datasetsSyncedSchema = z
  .object({
    environment_id: z.string(),
    datasets: z.array(
      z.object({
        source: z.string().describe('The dataset (storage_config.mounts.N.source)'),
        target: z.string(),
        ok: z.boolean(),
        message: z.string().optional().describe("Why not: the copy's last error line"),
      }),
    ),
  })
  .openapi('DatasetsSynced');

export const envActivitySchema = z
  .object({
    gateway: z
      .record(count)
      .describe('Tunnels open through this gateway by kind (ssh, port, jupyter, vnc, rdp); empty when none'),
    agent: z
      .object({
        version: z.string(),
        started_at: z.string(),
        updated_at: z.string(),
        connections: count.describe("SSH connections open to the agent (the gateway's probe is not one)"),
        sessions: z.object({ shell: count, exec: count, sftp: count, forward: count }),
      })
      .nullable()
      .describe("hangar-agent's own sessions by kind, wherever they came from; null: no agent, not running, no answer"),
  })
  .openapi('EnvActivity');

export const connectionSchema = z
  .object({
    environment_id: z.string(),
    name: z.string(),
    ssh: z
      .object({
        user: z.string(),
        host_alias: z.string(),
        host_key: z.string().nullable(),
        tunnel_path: z.string().optional().describe('Absent when direct access is refused (direct_refused)'),
        proxy_command: z.string().optional(),
      })
      .passthrough(),
    direct_refused: z
      .object({ rule: z.string(), reason: z.string() })
      .optional()
      .describe(
        'jumpserver.required: the gateway refuses direct routes for this env; only JumpServer routes are listed',
      ),
  })
  .passthrough()
  .openapi('Connection', {
    description:
      'SSH, Jupyter, VNC and RDP access, and protocols the image declares with labels dev.hangar.access.<protocol>=<port> (RStudio, NoMachine, …); for Kubernetes envs with network_config.expose, `exposed` {type, hosts, ports: [{name, port, node_port}]}. The only place secrets (Jupyter token, VNC/RDP passwords) are returned, to the owner.',
  });

export const userSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    role: z.enum(['admin', 'user']),
    team: z.string().nullable().optional(),
    created_at: time,
  })
  .passthrough()
  .openapi('User');

export const newUserSchema = z
  .object({ user: userSchema, token: z.string().describe('Shown once') })
  .passthrough()
  .openapi('NewUser');
export const tokenInfoSchema = z.object({ id: z.string(), name: z.string() }).passthrough().openapi('TokenInfo');
export const newTokenSchema = z
  .object({ name: z.string(), token: z.string().describe('Shown once') })
  .openapi('NewToken');

export const sshKeySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    public_key: z.string(),
    fingerprint: z.string(),
    created_at: time,
    private_key: z.string().optional().describe('Only when generated, returned once and never stored'),
  })
  .passthrough()
  .openapi('SshKey');

export const backendSchema = z
  .object({
    id: z.string(),
    kind: z.enum(['docker', 'kubernetes', 'libvirt', 'ssh']),
    url: z.string(),
    available: z.boolean(),
    error: z.string().optional(),
    version: z.string().optional(),
    default: z.boolean(),
  })
  .passthrough()
  .openapi('Backend');

export const gpuSchema = z
  .object({
    id: z.string(),
    backend_id: z.string(),
    node: z.string(),
    kind: z.enum(['gpu', 'mig', 'mdev', 'k8s']),
    model: z.string(),
    capacity: z.number().int(),
    free: z.number().int(),
    holders: z.array(z.record(z.unknown())),
  })
  .passthrough()
  .openapi('Gpu');

export const templateSchema = z
  .object({
    name: z.string(),
    backend_id: z.string(),
    os: z.string(),
    default_user: z.string(),
    cloud_init: z.boolean(),
    firmware: z.enum(['bios', 'uefi', 'direct-kernel']),
    access: z.array(z.enum(['ssh', 'vnc', 'rdp'])),
    disk_bytes: z.number(),
    created_at: time,
    used_by: z.array(z.string()).optional(),
  })
  .passthrough()
  .openapi('Template');

export const snapshotSchema = z
  .object({
    name: z.string(),
    created_at: time,
    state: z.string().describe('running: with memory; shutoff: disk only'),
    description: z.string().nullable(),
    current: z.boolean(),
  })
  .passthrough()
  .openapi('Snapshot');

export const auditEntrySchema = z
  .object({
    id: z.number().int(),
    at: time,
    user_id: z.string().nullable(),
    user: z.string().nullable().describe('User name; null: unauthenticated or the gateway itself'),
    action: z.string(),
    target: z.string().nullable(),
    detail: z.string().nullable().describe('JSON text'),
    client: z.string().nullable().describe('X-Hangar-Client, else User-Agent'),
    address: z.string().nullable().describe('Client address (X-Forwarded-For only via trust_proxy)'),
    result: z.string().nullable().describe('ok, or the error code'),
    status: z.number().int().nullable(),
  })
  .openapi('AuditEntry');
export const auditPageSchema = z
  .object({ entries: z.array(auditEntrySchema), next_cursor: z.string().nullable() })
  .openapi('AuditPage');
export const eventSchema = z
  .object({
    type: z.string(),
    environment_id: z.string(),
    status: z.enum(ENV_STATUSES).optional(),
    message: z.string().nullable().optional(),
    at: time,
  })
  .passthrough()
  .openapi('Event');

export const volumeSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    owner_id: z.string().nullable(),
    team: z.string().nullable(),
    backend_id: z.string(),
    backend_name: z.string().describe('What the backend calls it: hangar-vol-<id>, never a name from input'),
    size_gb: z.number().int().nullable(),
    created_at: time,
    storage_class: z.string().nullable().optional(),
    access_modes: z.array(z.string()).nullable().optional(),
    ceph: z.enum(['cephfs', 'rbd']).nullable().optional(),
    state: z
      .object({
        phase: z.string().describe('Kubernetes: the claim\'s phase (Bound, Pending, Lost); "missing" when gone'),
        storage_class: z.string().optional(),
        capacity_gb: z.number().optional(),
        message: z.string().optional().describe('Why a claim is not bound (its events), or that a resize waits'),
      })
      .optional(),
    mounted_by: z.array(z.object({ id: z.string(), name: z.string() })).optional(),
  })
  .openapi('Volume');

export const storageOverviewSchema = z
  .object({
    volumes: z.array(volumeSchema),
    shares: z.array(
      z.object({ name: z.string(), kind: z.string(), read_only: z.boolean(), sub_directories: z.string() }),
    ),
    host_paths: z.array(z.object({ name: z.string(), read_only: z.boolean() })),
  })
  .openapi('StorageOverview');

export const orphanSchema = z
  .object({
    ref: z.string().describe('The env id its labels carry'),
    backend_id: z.string(),
    backend_ref: z.string(),
    state: z.string(),
    name: z.string().optional(),
    owner_id: z.string().optional(),
    image: z.string().optional(),
    deployment_mode: z.string().optional(),
    adoptable: z.boolean().describe('Its labels hold what a row needs'),
  })
  .openapi('Orphan');

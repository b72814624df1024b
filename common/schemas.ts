// Request validation shared by the daemon (authoritative), the CLI and the extension (early feedback).
import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { isIP } from 'node:net';
import { z } from 'zod';
import {
  ACCESS_MODES,
  DEPLOYMENT_MODES,
  ENVIRONMENT_TYPES,
  GPU_MODES,
  LIFECYCLE_POLICIES,
  PULL_POLICIES,
  SSH_SERVERS,
  STORAGE_TYPES,
} from './model';
import { cronProblem } from './cron';
import { isoTime, lifecycleConfigSchema } from './lifecycle';

// .openapi() adds what JSON Schema needs beyond zod (daemon/http/openapi builds the API description from these).
extendZodWithOpenApi(z);

/** DNS-1123 label: valid as a container name, a Kubernetes object name and a hostname. */
export const envName = z
  .string()
  .max(63, 'must be at most 63 characters')
  .regex(
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
    'must be lowercase letters, digits and "-", starting and ending with a letter or digit',
  );

const unixUser = z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'must be a valid Unix user name');
const envVarName = /^[A-Za-z_][A-Za-z0-9_]*$/;
// JSON Schema's propertyNames (3.1) for record keys; zod-to-openapi's 3.0-shaped metadata type lacks it.
const keysMatch = (re: RegExp) => ({ propertyNames: { pattern: re.source } }) as object;
const port = z.number().int().min(1).max(65535);
// zod's ip() would be documented as format "ip", which JSON Schema lacks: say either standard one.
const ipAddress = z
  .string()
  .refine((s) => isIP(s) !== 0, 'must be an IP address')
  .openapi({ anyOf: [{ format: 'ipv4' }, { format: 'ipv6' }] } as object);
/** An integer in a query string (Express hands over strings). */
const queryInt = (min: number, max?: number) =>
  (max === undefined ? z.coerce.number().int().min(min) : z.coerce.number().int().min(min).max(max))
    .optional()
    .openapi({ type: 'integer', minimum: min, ...(max === undefined ? {} : { maximum: max }) });

// Image references: registry/path:tag@digest; no whitespace or shell metacharacters.
const imageRef = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._\-/:@]*$/, 'must be an image reference like repo/name:tag');

const portMapping = z
  .object({
    container_port: port,
    host_port: z.number().int().min(0).max(65535).optional(),
    host_ip: ipAddress.optional(),
    protocol: z.enum(['tcp', 'udp']).optional(),
  })
  .strict();

/** A mount names what it uses, never a host path or a backend's volume name:
 *  - `{type: volume, source: NAME}`: the caller's own volume NAME (made on first use); `team:NAME` the caller's team's;
 *    `id:<volume id>` one of those by id;
 *  - `{type: host_path, source: NAME}`: an entry of the operator's `host_paths` allowlist (read-only unless it says);
 *  - `{type: bind}` (a raw host path) is still parsed, to be refused with 403 by the service. */
/** A Kubernetes claim's StorageClass (a DNS-1123 subdomain), access modes and a Ceph kind (the backend maps it). */
export const storageClassName = z
  .string()
  .max(253)
  .regex(
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
    'must be a StorageClass name (lowercase letters, digits, "-" and ".")',
  );
export const accessModes = z
  .array(z.enum(ACCESS_MODES))
  .min(1)
  .max(4)
  .refine((m) => new Set(m).size === m.length, 'must not repeat a mode');
export const cephKind = z.enum(['cephfs', 'rbd']);
const claimFields = {
  storage_class: storageClassName.optional(),
  access_modes: accessModes.optional(),
  /** The backend's Ceph class instead of a class name: cephfs (shared, ReadWriteMany) or rbd (block, ReadWriteOnce). */
  ceph: cephKind.optional(),
};
const oneClass = (v: { storage_class?: string; ceph?: string }, ctx: z.RefinementCtx) => {
  if (v.storage_class !== undefined && v.ceph !== undefined)
    ctx.addIssue({ code: 'custom', path: ['ceph'], message: 'give storage_class or ceph, not both' });
};
/** storage_config.home: the env's own home claim (storage_type pvc or ceph, Kubernetes). */
export const homeClaimSchema = z
  .object({ size_gb: z.number().int().min(1).max(65536).optional(), ...claimFields })
  .strict()
  .superRefine(oneClass);

export const VOLUME_SOURCE = /^(team:|id:)?[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
export const HOST_PATH_NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/;
const mount = z
  .object({
    type: z.enum(['volume', 'host_path', 'bind', 'share', 'dataset']),
    source: z.string().min(1).max(4096),
    target: z
      .string()
      // eslint-disable-next-line no-control-regex -- a NUL can't be in a path: refusing it here names the field
      .regex(/^\/[^\x00]*$/, 'must be an absolute path')
      .refine((p) => !p.split('/').includes('..'), 'must not contain ".."'),
    read_only: z.boolean().optional(),
    /** VMs: the size of the data disk a new named volume becomes (default: the backend's data_disk_gb). */
    size_gb: z.number().int().min(1).max(65536).optional(),
    ...claimFields,
    /** share: a sub-directory of the export: relative, letters, digits, "_", "." and "-" between "/", no "..";
     *  a whole segment `{user}` (the caller's name) or `{env}` (the env's id) is a directory Hangar makes, with
     *  everything below it, owned by the login user. */
    sub_path: z
      .string()
      .max(255)
      .regex(
        /^([A-Za-z0-9_.-]+|\{user\}|\{env\})(\/([A-Za-z0-9_.-]+|\{user\}|\{env\}))*$/,
        'must be a relative path of letters, digits, "_", "." and "-" (or whole segments {user} and {env})',
      )
      .refine((p) => !p.split('/').some((s) => s === '..' || s === '.'), 'must not contain ".." or "."')
      .optional(),
  })
  .strict()
  .superRefine((m, ctx) => {
    if (m.type === 'bind' && (!m.source.startsWith('/') || m.source.split('/').includes('..'))) {
      ctx.addIssue({
        code: 'custom',
        path: ['source'],
        message: 'a bind source must be an absolute path without ".."',
      });
    }
    if (m.type === 'host_path' && !HOST_PATH_NAME.test(m.source)) {
      ctx.addIssue({
        code: 'custom',
        path: ['source'],
        message:
          'a host_path source is the name of an entry of the gateway\'s host_paths (lowercase letters, digits, "_", "." and "-"), not a path',
      });
    }
    if (m.type === 'share' && !HOST_PATH_NAME.test(m.source)) {
      ctx.addIssue({
        code: 'custom',
        path: ['source'],
        message: "a share source is the name of one of the gateway's shares",
      });
    }
    if (m.sub_path !== undefined && m.type !== 'share') {
      ctx.addIssue({ code: 'custom', path: ['sub_path'], message: 'sub_path is for mounts of type share' });
    }
    for (const k of ['storage_class', 'access_modes', 'ceph'] as const)
      if (m[k] !== undefined && m.type !== 'volume')
        ctx.addIssue({ code: 'custom', path: [k], message: `${k} is for mounts of type volume (Kubernetes claims)` });
    oneClass(m, ctx);
    if (m.type === 'dataset' && !VOLUME_SOURCE.test(m.source)) {
      ctx.addIssue({
        code: 'custom',
        path: ['source'],
        message: 'a dataset source is NAME, team:NAME or id:ID of a dataset (GET /datasets)',
      });
    }
    if (m.type === 'volume' && !VOLUME_SOURCE.test(m.source)) {
      ctx.addIssue({
        code: 'custom',
        path: ['source'],
        message: 'a volume source is NAME, team:NAME or id:ID (letters, digits, "_", "." and "-")',
      });
    }
  });

export const storageConfigSchema = z
  .object({ mounts: z.array(mount).max(32).optional(), home: homeClaimSchema.optional() })
  .passthrough();
export const networkConfigSchema = z
  .object({
    ports: z.array(portMapping).max(64).optional(),
    host_ip: ipAddress.optional(),
    expose: z
      .enum(['node_port', 'load_balancer'])
      .optional()
      .describe(
        'Kubernetes only: a NodePort or LoadBalancer Service (and a NetworkPolicy admitting it) for SSH and the `ports`; Jupyter and VNC stay behind the gateway. Absent: ClusterIP only. The connection endpoint reports node ports and addresses under `exposed`.',
      ),
  })
  .passthrough();

// Kubernetes names: a Secret is a DNS-1123 subdomain; a data key is [-._a-zA-Z0-9]+.
const secretKeyRef = z
  .object({
    secret: z
      .string()
      .max(253)
      .regex(
        /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
        'must be a Secret name (DNS-1123 subdomain)',
      ),
    key: z
      .string()
      .max(253)
      .regex(/^[-._a-zA-Z0-9]+$/, 'must be a Secret key ([-._a-zA-Z0-9]+)'),
  })
  .strict();
const envVarsFromSecrets = z
  .record(secretKeyRef)
  .superRefine((vars, ctx) => {
    for (const k of Object.keys(vars)) {
      if (!envVarName.test(k))
        ctx.addIssue({ code: 'custom', path: [k], message: 'is not a valid environment variable name' });
    }
  })
  .openapi(keysMatch(envVarName));
const isK8s = (mode: string) => mode.startsWith('k8s_');

const envVars = z
  .record(z.string().max(32768))
  .superRefine((vars, ctx) => {
    for (const k of Object.keys(vars)) {
      if (!envVarName.test(k))
        ctx.addIssue({ code: 'custom', path: [k], message: 'is not a valid environment variable name' });
    }
  })
  .openapi(keysMatch(envVarName));

// GPU device ids: an index, a GPU-/MIG- UUID. The allocator (a later issue) will fill these itself.
const gpuDeviceId = z
  .string()
  .regex(
    /^(\d{1,3}|GPU-[0-9a-fA-F-]{8,64}|MIG-[0-9A-Za-z/-]{8,100})$/,
    'must be a GPU index, GPU-<uuid> or MIG-<uuid>',
  );

export const createEnvironmentSchema = z
  .object({
    name: envName,
    image: imageRef,
    deployment_mode: z
      .enum(DEPLOYMENT_MODES)
      .default('docker_local')
      .describe(
        'docker_local: a container; k8s_pod: a Deployment (1 replica); k8s_stateful: a StatefulSet with a /home claim; k8s_job: batch training as a Job (runs `command` once; stop suspends it, start resumes or runs it again; status stopped "completed" or failed with the reason); k8s_cronjob: scheduled training as a CronJob (`schedule`; stop suspends, start resumes); vm: a libvirt domain',
      ),
    environment_type: z.enum(ENVIRONMENT_TYPES).default('ide'),
    gpu_mode: z.enum(GPU_MODES).default('none'),
    storage_type: z.enum(STORAGE_TYPES).default('local'),
    storage_config: storageConfigSchema.nullable().default(null),
    lifecycle_policy: z.enum(LIFECYCLE_POLICIES).default('persistent'),
    lifecycle_config: lifecycleConfigSchema.nullable().default(null),
    network_config: networkConfigSchema.nullable().default(null),
    use_jumpserver: z.boolean().default(false),
    vnc_port: port
      .nullable()
      .default(null)
      .describe('desktop envs: allocated from vnc_port_range when absent; unique per backend'),
    backend_id: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'must be a backend id')
      .optional(),
    image_pull_policy: z.enum(PULL_POLICIES).default('if-not-present'),
    cpu: z.number().positive('must be greater than 0').max(1024).nullable().default(null),
    memory_mb: z
      .number()
      .int()
      .min(6, 'must be at least 6 MiB')
      .max(16 * 1024 * 1024)
      .nullable()
      .default(null),
    gpu_count: z.number().int().min(0).max(64).default(0),
    gpu_device_ids: z
      .array(gpuDeviceId)
      .max(64)
      .default([])
      .describe('Exact devices (GPU-<uuid>, MIG-<uuid>); empty: the daemon chooses and records its grant here'),
    gpu_model: z
      .string()
      .min(1)
      .max(128)
      .regex(/^[A-Za-z0-9 ._-]+$/, 'must be a GPU model name like A100 or "H100 80GB"')
      .nullable()
      .default(null)
      .describe('Wanted model, a substring of the product name (e.g. A100, "H100 80GB")'),
    /** gpu_mode mig: the MIG profile (1g.10gb); gpu_mode vgpu: the mdev type (nvidia-472). */
    gpu_mig_profile: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'must be a MIG profile like 1g.10gb or an mdev type like nvidia-472')
      .nullable()
      .default(null)
      .describe('MIG profile for gpu_mode mig (e.g. 1g.10gb); the mdev type for gpu_mode vgpu (e.g. nvidia-472)'),
    /** When no GPU fits now: queue (status pending with the reason) until one does, instead of a 409. */
    gpu_wait: z
      .boolean()
      .default(false)
      .describe(
        'When no GPU fits now: queue the env (status pending, the reason in status_message) until GPUs are released, instead of a 409',
      ),
    env_vars: envVars.default({}),
    env_vars_from_secrets: envVarsFromSecrets
      .default({})
      .describe(
        "Kubernetes only: env vars read from Secrets (secretKeyRef) in the env's namespace; names must not repeat env_vars",
      ),
    schedule: z
      .string()
      .max(256)
      .superRefine((s, ctx) => {
        const why = cronProblem(s);
        if (why) ctx.addIssue({ code: 'custom', message: `is not a cron schedule: ${why}` });
      })
      .nullable()
      .default(null)
      .describe(
        'k8s_cronjob (required there, refused elsewhere): a cron expression, 5 fields or @hourly/@daily/@weekly/@monthly/@yearly',
      ),
    command: z
      .array(z.string().min(1).max(4096))
      .min(1)
      .max(256)
      .nullable()
      .default(null)
      .describe('k8s_job / k8s_cronjob (required there, refused elsewhere): the argv the pod runs'),
    ssh_user: unixUser.default('hangar'),
    ssh_server: z
      .enum(SSH_SERVERS)
      .optional()
      .describe(
        "Which SSH server answers port 22: agent (hangar-agent, which Hangar copies in: any image works) or image (the image's own /usr/sbin/sshd). Absent: the gateway's default_ssh_server",
      ),
  })
  .strict()
  .superRefine((v, ctx) => {
    if (v.deployment_mode === 'k8s_cronjob' && !v.schedule)
      ctx.addIssue({
        code: 'custom',
        path: ['schedule'],
        message: 'is required for deployment_mode k8s_cronjob (e.g. "0 3 * * *")',
      });
    if (v.deployment_mode !== 'k8s_cronjob' && v.schedule)
      ctx.addIssue({ code: 'custom', path: ['schedule'], message: 'is only for deployment_mode k8s_cronjob' });
    const batch = v.deployment_mode === 'k8s_job' || v.deployment_mode === 'k8s_cronjob';
    if (batch && !v.command)
      ctx.addIssue({
        code: 'custom',
        path: ['command'],
        message: `is required for deployment_mode ${v.deployment_mode} (what the pod runs)`,
      });
    if (!batch && v.command)
      ctx.addIssue({
        code: 'custom',
        path: ['command'],
        message: 'is only for deployment_mode k8s_job and k8s_cronjob',
      });
    if (!isK8s(v.deployment_mode) && Object.keys(v.env_vars_from_secrets).length)
      ctx.addIssue({
        code: 'custom',
        path: ['env_vars_from_secrets'],
        message: 'needs a Kubernetes deployment_mode (k8s_*)',
      });
    for (const k of Object.keys(v.env_vars_from_secrets)) {
      if (k in v.env_vars)
        ctx.addIssue({ code: 'custom', path: ['env_vars_from_secrets', k], message: 'is also set in env_vars' });
    }
    if (!isK8s(v.deployment_mode) && v.network_config?.expose)
      ctx.addIssue({
        code: 'custom',
        path: ['network_config', 'expose'],
        message: 'needs a Kubernetes deployment_mode (k8s_*)',
      });
    const bind = v.storage_config?.mounts?.findIndex((m) => !['volume', 'share', 'dataset'].includes(m.type)) ?? -1;
    if (v.deployment_mode === 'vm' && bind >= 0)
      ctx.addIssue({
        code: 'custom',
        path: ['storage_config', 'mounts', bind, 'source'],
        message: "a VM can't mount a host path; use a named volume (it becomes a disk), a share or a dataset",
      });
    if (v.gpu_mode === 'mig' && v.gpu_mig_profile && !/^\d+g\.\d+gb$/.test(v.gpu_mig_profile)) {
      ctx.addIssue({ code: 'custom', path: ['gpu_mig_profile'], message: 'must be a MIG profile like 1g.10gb' });
    }
    if (v.gpu_mig_profile && v.gpu_mode !== 'mig' && v.gpu_mode !== 'vgpu') {
      ctx.addIssue({
        code: 'custom',
        path: ['gpu_mig_profile'],
        message: 'is for gpu_mode mig (a MIG profile) or vgpu (an mdev type)',
      });
    }
    if (v.gpu_mode === 'mig' && !v.gpu_mig_profile && v.gpu_device_ids.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['gpu_mig_profile'],
        message: 'is required for gpu_mode mig (e.g. 1g.10gb)',
      });
    }
    if (v.gpu_mode !== 'none' && v.gpu_mode !== 'mig' && v.gpu_count === 0 && v.gpu_device_ids.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['gpu_count'], message: `must be at least 1 for gpu_mode ${v.gpu_mode}` });
    }
    if (v.gpu_mode === 'none' && (v.gpu_count > 0 || v.gpu_device_ids.length > 0 || v.gpu_model || v.gpu_mig_profile)) {
      ctx.addIssue({ code: 'custom', path: ['gpu_mode'], message: 'is "none" but GPUs were requested' });
    }
    if (v.gpu_count > 0 && v.gpu_device_ids.length > 0 && v.gpu_count !== v.gpu_device_ids.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['gpu_count'],
        message: 'must equal the number of gpu_device_ids when both are given',
      });
    }
    if (v.ssh_user === 'root') ctx.addIssue({ code: 'custom', path: ['ssh_user'], message: 'must not be root' });
  });

/** Fields a user may change after creation; changes to resources apply at the next start. */
export const updateEnvironmentSchema = z
  .object({
    lifecycle_policy: z.enum(LIFECYCLE_POLICIES).optional(),
    lifecycle_config: lifecycleConfigSchema.nullable().optional(),
    use_jumpserver: z.boolean().optional(),
    env_vars: envVars.optional(),
    cpu: z.number().positive('must be greater than 0').max(1024).nullable().optional(),
    memory_mb: z
      .number()
      .int()
      .min(6)
      .max(16 * 1024 * 1024)
      .nullable()
      .optional(),
  })
  .strict();

/** The largest page of GET /environments (?limit=). */
export const ENV_PAGE_MAX = 1000;
export const listEnvironmentsQuery = z
  .object({
    status: z.string().optional(),
    deployment_mode: z.enum(DEPLOYMENT_MODES).optional(),
    environment_type: z.enum(ENVIRONMENT_TYPES).optional(),
    backend_id: z.string().optional(),
    owner: z.string().optional(),
    name: z.string().optional(),
    limit: queryInt(1, ENV_PAGE_MAX).describe(
      `At most this many, in a stable order (created_at, name, id); X-Next-Cursor names the next page. Without it: all`,
    ),
    cursor: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,512}$/, 'must be the X-Next-Cursor of a previous page')
      .optional()
      .describe('X-Next-Cursor of the previous page'),
  })
  .strict();

export const createUserSchema = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9_.-]{0,62}$/, 'must be a lowercase user name'),
    role: z.enum(['admin', 'user']).default('user'),
    /** Part of a Kubernetes namespace name (namespace_policy per-team): a short DNS-1123 label. */
    team: z
      .string()
      .max(40)
      .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be lowercase letters, digits and "-" (at most 40)')
      .nullable()
      .default(null),
  })
  .strict();

/** POST /volumes: a volume of one's own, or of one's team (team: true, or the team's name). */
export const createVolumeSchema = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'must be letters, digits, "_", "." and "-" (at most 63)'),
    size_gb: z.number().int().min(1).max(65536).optional(),
    backend_id: z.string().min(1).max(64).optional(),
    team: z.union([z.literal(true), z.string().min(1).max(40)]).optional(),
    /** Kubernetes backends: the claim's class (or the backend's Ceph class) and access modes. */
    ...claimFields,
  })
  .strict()
  .superRefine(oneClass);
/** PATCH /volumes/{id}: grow it (where the backend can). */
export const resizeVolumeSchema = z.object({ size_gb: z.number().int().min(1).max(65536) }).strict();

/** POST /tokens */
export const issueTokenSchema = z.object({ name: z.string().min(1).max(64).default('cli') }).strict();

/** POST /environments/:id/rotate */
export const rotateSecretSchema = z
  .object({ secret: z.enum(['jupyter_token', 'vnc_password', 'rdp_password']) })
  .strict();

// Query strings (Express's simple parser: every value is a string; a repeated key an array, refused).
export const gpusQuery = z
  .object({ backend: z.string().optional(), model: z.string().optional(), free: z.enum(['true', 'false']).optional() })
  .strict();
export const logsQuery = z
  .object({
    tail: queryInt(0, 100_000).describe('Lines from the end (default 100)'),
    follow: z.enum(['true', 'false', '1', '0']).optional().describe('true or 1: keep streaming new lines'),
  })
  .strict();
export const templatesQuery = z.object({ backend_id: z.string().optional() }).strict();
// Normalised to UTC for the store's string comparison.
const isoTimeUtc = isoTime.transform((v) => new Date(v).toISOString());
export const auditQuery = z
  .object({
    limit: queryInt(1).describe('Entries, newest first; capped at 5000 (default 200)'),
    cursor: z
      .string()
      .regex(/^\d+$/, 'must be the next_cursor of a previous page')
      .optional()
      .describe('next_cursor of the previous page'),
    user: z.string().min(1).max(64).optional().describe('User name'),
    action: z.string().min(1).max(64).optional().describe('Action, or a prefix as "environment.*"'),
    target: z.string().min(1).max(200).optional().describe('Target (an environment id, …)'),
    since: isoTimeUtc.optional().describe('Entries at or after this time'),
    until: isoTimeUtc.optional().describe('Entries before this time'),
    format: z
      .enum(['json', 'jsonl', 'csv'])
      .optional()
      .describe('json (a page), jsonl or csv (text, one entry a line)'),
  })
  .strict();
export type AuditQuery = z.infer<typeof auditQuery>;
/** POST /orphans/:ref/adopt: the user to own the rebuilt env when its labelled owner is not in this database. */
export const adoptOrphanSchema = z.object({ owner: z.string().min(1).max(64).optional() }).strict();
export const tunnelQuery = z.object({ port: queryInt(1, 65535).describe('Default 22') }).strict();

export const addSshKeySchema = z.union([
  z
    .object({
      name: z.string().min(1).max(64).default('default'),
      public_key: z
        .string()
        .regex(/^ssh-(ed25519|rsa) [A-Za-z0-9+/=]+( .*)?$/, 'must be an OpenSSH ssh-ed25519 or ssh-rsa public key'),
    })
    .strict(),
  z.object({ name: z.string().min(1).max(64).default('default'), generate: z.literal(true) }).strict(),
]);

export type CreateEnvironmentInput = z.infer<typeof createEnvironmentSchema>;
export type CreateEnvironmentRequest = z.input<typeof createEnvironmentSchema>;
export type UpdateEnvironmentInput = z.infer<typeof updateEnvironmentSchema>;

/** "field: message" for the first issue: the 400 answer names the field. */
export function describeZodError(err: z.ZodError): { field: string; message: string } {
  const issue = err.issues[0];
  const field = issue.path.join('.') || '(body)';
  let message = issue.message;
  if (issue.code === 'unrecognized_keys')
    return { field: issue.keys.join(','), message: `unknown field(s): ${issue.keys.join(', ')}` };
  if (issue.code === 'invalid_enum_value') message = `must be one of ${issue.options.join(', ')}`;
  return { field, message: `${field}: ${message}` };
}

// ---- VMs: templates and snapshots ----------------------------------------------------------------------------

const fileSource = z.union([
  z.object({ file: z.string().regex(/^\//, 'must be an absolute path on the gateway') }).strict(),
  z
    .object({
      url: z
        .string()
        .url()
        .refine((u) => /^https?:/.test(u), 'must be http(s)'),
    })
    .strict(),
]);

export const importTemplateSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'lower-case letters, digits, ".", "_" and "-", up to 63'),
    os: z.string().min(1).max(64),
    default_user: z
      .string()
      .regex(/^[a-z_][a-z0-9_-]{0,31}$/)
      .default('root'),
    cloud_init: z.boolean().default(true),
    firmware: z.enum(['bios', 'uefi', 'direct-kernel']).default('bios'),
    cmdline: z.string().max(1024).optional(),
    access: z
      .array(z.enum(['ssh', 'vnc', 'rdp']))
      .min(1)
      .default(['ssh']),
    disk: fileSource,
    kernel: fileSource.optional(),
    initrd: fileSource.optional(),
  })
  .strict();
export type ImportTemplateRequest = z.input<typeof importTemplateSchema>;

export const createSnapshotSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'letters, digits, ".", "_" and "-", up to 63'),
    description: z.string().max(1024).optional(),
  })
  .strict();
export type CreateVolumeInput = z.infer<typeof createVolumeSchema>;
export type CreateVolumeRequest = z.input<typeof createVolumeSchema>;

// Configuration: YAML file < environment < flags, parsed once into a typed object. Pure: never writes process.env.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { SSH_SERVERS } from '../common/model';
import { profileSchema } from '../common/profiles';
import { defaultsProblem } from './profiles/resolve';
import { lifecycleConfigSchema } from '../common/lifecycle';
import { backend, portRange } from './backendConfig';
import { checkShares, share, volumeQuotas } from './storageConfig';
import { checkObjectStores, objectStore } from './objectstore/config';
import { backupStore, checkBackupStore } from './snapshots/config';

export type {
  BackendConfig,
  DockerBackendConfig,
  KubernetesBackendConfig,
  LibvirtBackendConfig,
} from './backendConfig';

/** A host directory the operator lets users mount by name (storage_config mount {type: host_path, source: <name>}).
 *  Users never give raw paths: a container's root can write wherever a bind points. */
const hostPath = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'must be lowercase letters, digits, "_", "." and "-"'),
    path: z
      .string()
      .regex(/^\/[^\0]*$/, 'must be an absolute path')
      .refine(
        (p) => p === '/' || (path.posix.normalize(p) === p && !p.endsWith('/')),
        'must be a normalised path (no "..", "." or "//")',
      ),
    /** Read-only unless the operator says otherwise; a mount can't ask for more than this. */
    read_only: z.boolean().default(true),
    /** Who may mount it: user names ("*": every user) and team names. Admins are listed like anyone else. */
    users: z.array(z.string().min(1)).default([]),
    teams: z.array(z.string().min(1)).default([]),
  })
  .strict();
export type HostPathConfig = z.infer<typeof hostPath>;

/** A team's limits; absent keys are unlimited. Checked at create and at start (a 409 with the numbers). */
const teamQuota = z
  .object({
    gpus: z.number().int().min(0).optional(),
    cpu: z.number().min(0).optional(),
    memory_mb: z.number().int().min(0).optional(),
    environments: z.number().int().min(0).optional(),
  })
  .strict();

/** Upper bounds a team's (or everyone's) envs are held to: a create or update past one is refused (422 naming the
 *  field); max_lifetime_hours and idle_timeout_minutes also apply to envs that set none. */
const lifecycleLimits = z
  .object({
    idle_timeout_minutes: z.number().int().min(1).optional(),
    ttl_hours: z.number().positive().optional(),
    max_lifetime_hours: z.number().positive().optional(),
  })
  .strict();
const lifecycleRules = { defaults: lifecycleConfigSchema.default({}), limits: lifecycleLimits.default({}) };
const lifecycleSettings = z
  .object({
    /** How often the policy loop looks at every env (seconds). */
    interval_s: z.number().int().min(1).default(30),
    /** How long opening a tunnel to a stopped on_demand env waits for it to run. */
    start_on_connect_timeout_s: z.number().int().min(1).default(300),
    ...lifecycleRules,
    /** Per team (the user's team): defaults over the gateway's, limits on top of the gateway's. */
    teams: z.record(z.object(lifecycleRules).strict()).default({}),
  })
  .strict();
export type LifecycleSettings = z.infer<typeof lifecycleSettings>;

/** JumpServer (optional, per gateway): environments with use_jumpserver become its assets. Secrets come from files
 *  (read when the daemon starts; never logged or answered). */
const jumpserverConfig = z
  .object({
    url: z.string().url(),
    /** X-JMS-ORG; the community edition has only Default. */
    org_id: z.string().min(1).default('00000000-0000-0000-0000-000000000002'),
    auth: z.union([
      z.object({ access_key_id: z.string().min(1), access_key_secret_file: z.string().min(1) }).strict(),
      z.object({ private_token_file: z.string().min(1) }).strict(),
    ]),
    /** KoKo, JumpServer's SSH gateway, as clients reach it. */
    koko: z.object({ host: z.string().min(1), port: z.number().int().min(1).max(65535).default(2222) }).strict(),
    /** Platform (name or id) and node (id) new assets go to. */
    platform: z.union([z.string().min(1), z.number().int()]).default('Linux'),
    node: z.string().min(1).optional(),
    /** Hangar user name -> JumpServer username: the same name, a prefix added, or an explicit map (else the name). */
    user_mapping: z
      .object({ prefix: z.string().default(''), map: z.record(z.string().min(1)).default({}) })
      .strict()
      .default({}),
    /** true: use_jumpserver envs have no direct access, and are refused (503) while JumpServer can't register them. */
    required: z.boolean().default(false),
    /** The asset address: each registered env gets an SSH endpoint on this gateway, at this address JumpServer
     *  reaches it on, on a port from asset_port_range. */
    asset_address: z.string().min(1).default('127.0.0.1'),
    asset_bind: z.string().ip().default('0.0.0.0'),
    asset_port_range: portRange.default({ from: 22200, to: 22399 }),
    timeout_ms: z.number().int().min(100).default(10_000),
  })
  .strict();
export type JumpServerConfig = z.infer<typeof jumpserverConfig>;

const configSchema = z
  .object({
    lifecycle: lifecycleSettings.default({}),
    listen: z
      .string()
      .regex(/^[^:]+:\d+$/, 'must be host:port')
      .default('127.0.0.1:7420'),
    data_dir: z.string().default(path.join(os.homedir(), '.local/share/hangar')),
    /** URL clients use to reach this gateway (for connection info); defaults to http://<listen>. */
    public_url: z.string().url().optional(),
    log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    reconcile_interval_s: z.number().int().min(1).default(30),
    gpu_refresh_interval_s: z.number().int().min(5).default(60),
    /** Host ports handed out as vnc_port (published on the backend host's publish_address). */
    vnc_port_range: z
      .object({ from: z.number().int().min(1024).max(65535), to: z.number().int().min(1024).max(65535) })
      .default({ from: 15900, to: 15999 }),
    /** Who may embed proxied Jupyter pages (CSP frame-ancestors): VS Code's webviews by default; add a code-server or
     *  web IDE origin here. */
    jupyter_frame_ancestors: z
      .array(z.string().regex(/^[^;,\s]+$/))
      .default(["'self'", 'vscode-webview:', 'https://*.vscode-cdn.net']),
    rdp_port_range: z
      .object({ from: z.number().int().min(1024).max(65535), to: z.number().int().min(1024).max(65535) })
      .default({ from: 13389, to: 13488 }),
    /** ssh_server for creates that name none: agent (hangar-agent, any image) or image (the image's own sshd). */
    default_ssh_server: z.enum(SSH_SERVERS).default('agent'),
    /** Where hangar-agent's builds are (linux-<arch>/hangar-agent); default: dist/native beside the daemon's bundle. */
    agent_dir: z.string().optional(),
    /** Seconds to wait for a container to stop before it is killed. */
    stop_timeout_s: z.number().int().min(0).default(10),
    backends: z.array(backend).default([
      {
        id: 'local',
        kind: 'docker',
        url: 'unix:///var/run/docker.sock',
        publish_address: '127.0.0.1',
        nvidia_smi: 'nvidia-smi',
        gpu_shared_replicas: 4,
        allow_image_pulls: true,
      },
    ]),
    default_backend: z.string().optional(),
    host_paths: z.array(hostPath).default([]),
    /** Presets users create from (see README "Profiles"); read-only through the API. */
    profiles: z.array(profileSchema).default([]),
    /** Roles that may create only from a profile (the full custom create is refused with 403). Admins never are. */
    profiles_only_for_roles: z.array(z.literal('user')).default([]),
    /** Per team name: the most its envs may hold together. */
    quotas: z.record(teamQuota).default({}),
    /** Volume quotas (count and total GB) per user and per team; none by default. */
    volume_quotas: volumeQuotas,
    /** NFS/CephFS exports users may mount by name ({type: share, source: NAME}). */
    shares: z.array(share).default([]),
    /** S3-compatible stores for datasets, volume archives and backups; credentials from a file or the environment. */
    object_stores: z.array(objectStore).default([]),
    /** Where Docker volume archives and backups go (a bucket on one of object_stores); none: those are 422. */
    backup_store: backupStore.optional(),
    jumpserver: jumpserverConfig.optional(),
    /** HTTPS and WSS on the listen port: `self-signed` (a certificate made at first start, kept in the data dir), or
     *  `off`; a certificate of your own is given with tls_cert_file + tls_key_file instead. */
    tls: z.enum(['off', 'self-signed']).optional(),
    /** PEM certificate (chain) and its private key. */
    tls_cert_file: z.string().min(1).optional(),
    tls_key_file: z.string().min(1).optional(),
    /** Behind a TLS-terminating proxy: express's `trust proxy` (true, a hop count, or addresses/subnets such as
     *  "loopback, 10.0.0.0/8"), so the client address and https come from X-Forwarded-*. false: those are ignored. */
    trust_proxy: z
      .union([z.boolean(), z.number().int().min(0), z.string().min(1), z.array(z.string().min(1)).min(1)])
      .default(false)
      .superRefine((v, ctx) => {
        const bad = trustProxyProblem(v);
        if (bad) ctx.addIssue({ code: z.ZodIssueCode.custom, message: bad });
      }),
  })
  .strict();

/** Where the daemon's TLS certificate comes from, resolved from tls / tls_cert_file / tls_key_file. */
export type TlsSource =
  { kind: 'off' } | { kind: 'self-signed' } | { kind: 'files'; certFile: string; keyFile: string };

export type Config = z.infer<typeof configSchema> & {
  listenHost: string;
  listenPort: number;
  publicUrl: string;
  tlsSource: TlsSource;
};

/** Addresses in a trust_proxy string/list must be what express (proxy-addr) accepts: IPs, subnets or its names. */
function trustProxyProblem(v: boolean | number | string | string[]): string | undefined {
  if (typeof v !== 'string' && !Array.isArray(v)) return undefined;
  const items = (Array.isArray(v) ? v : v.split(',')).map((x) => x.trim());
  for (const item of items) {
    if (['loopback', 'linklocal', 'uniquelocal'].includes(item)) continue;
    const [addr, bits, ...rest] = item.split('/');
    const family = net.isIP(addr);
    const max = family === 4 ? 32 : 128;
    const okBits =
      bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= max) || (family === 4 && net.isIPv4(bits));
    if (!family || rest.length || !okBits)
      return `'${item}' is not an IP address, a subnet (10.0.0.0/8) or one of loopback, linklocal, uniquelocal`;
  }
  return undefined;
}

export interface ConfigSources {
  argv?: string[];
  env?: Record<string, string | undefined>;
}

/** Reads `--flag value` / `--flag=value` pairs; unknown flags are an error. */
function parseFlags(argv: string[]): Record<string, string> {
  const known = new Set([
    'config',
    'listen',
    'data-dir',
    'log-level',
    'public-url',
    'docker-host',
    'tls',
    'tls-cert-file',
    'tls-key-file',
    'trust-proxy',
  ]);
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument '${a}'`);
    const eq = a.indexOf('=');
    const key = eq > 0 ? a.slice(2, eq) : a.slice(2);
    if (!known.has(key))
      throw new Error(`unknown flag --${key} (known: ${[...known].map((k) => '--' + k).join(', ')})`);
    const value = eq > 0 ? a.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new Error(`flag --${key} needs a value`);
    out[key] = value;
  }
  return out;
}

export function loadConfig({ argv = [], env = {} }: ConfigSources = {}): Config {
  const flags = parseFlags(argv);
  const file = flags.config ?? env.HANGAR_CONFIG;
  let raw: Record<string, unknown> = {};
  if (file) {
    const parsed = YAML.parse(fs.readFileSync(file, 'utf8'));
    if (parsed && typeof parsed === 'object') raw = parsed as Record<string, unknown>;
  }
  applyOverrides(raw, flags, env);
  const cfg = validated(raw);
  checkReferences(cfg);
  const tlsSource = resolveTls(cfg);
  const sep = cfg.listen.lastIndexOf(':');
  const listenHost = cfg.listen.slice(0, sep);
  const listenPort = Number(cfg.listen.slice(sep + 1));
  const scheme = tlsSource.kind === 'off' ? 'http' : 'https';
  return { ...cfg, listenHost, listenPort, publicUrl: cfg.public_url ?? `${scheme}://${cfg.listen}`, tlsSource };
}

/** Flags, then HANGAR_* variables, replace the file's values (in place, before validation, so they are checked too). */
function applyOverrides(
  raw: Record<string, unknown>,
  flags: Record<string, string>,
  env: Record<string, string | undefined>,
): void {
  const pick = (flag: string, envName: string, key: string) => {
    const v = flags[flag] ?? env[envName];
    if (v !== undefined) raw[key] = v;
  };
  pick('listen', 'HANGAR_LISTEN', 'listen');
  pick('data-dir', 'HANGAR_DATA_DIR', 'data_dir');
  pick('log-level', 'HANGAR_LOG_LEVEL', 'log_level');
  pick('public-url', 'HANGAR_PUBLIC_URL', 'public_url');
  pick('tls', 'HANGAR_TLS', 'tls');
  pick('tls-cert-file', 'HANGAR_TLS_CERT_FILE', 'tls_cert_file');
  pick('tls-key-file', 'HANGAR_TLS_KEY_FILE', 'tls_key_file');
  const trustProxy = flags['trust-proxy'] ?? env.HANGAR_TRUST_PROXY;
  if (trustProxy !== undefined)
    raw.trust_proxy = /^(true|false)$/.test(trustProxy)
      ? trustProxy === 'true'
      : /^\d+$/.test(trustProxy)
        ? Number(trustProxy)
        : trustProxy;
  const dockerHost = flags['docker-host'] ?? env.HANGAR_DOCKER_HOST;
  if (dockerHost && !raw.backends) raw.backends = [{ id: 'local', url: dockerHost }];
  const nvidiaSmi = env.HANGAR_NVIDIA_SMI;
  if (nvidiaSmi) {
    raw.backends = ((raw.backends as Record<string, unknown>[] | undefined) ?? [{ id: 'local' }]).map((b) =>
      b.kind === undefined || b.kind === 'docker' ? { nvidia_smi: nvidiaSmi, ...b } : b,
    );
  }
}

/** The schema's verdict on the merged settings; the first problem becomes the error, named by its path. */
function validated(raw: Record<string, unknown>): z.infer<typeof configSchema> {
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const i = result.error.issues[0];
    const where = i.path.join('.') || '(top level)';
    // zod says "Unrecognized key(s) in object: 'x'": name the key in the path, as a user would write it.
    if (i.code === 'unrecognized_keys') {
      throw new Error(`invalid configuration: ${i.keys.map((k) => [...i.path, k].join('.')).join(', ')}: unknown key`);
    }
    throw new Error(`invalid configuration: ${where}: ${i.message}`);
  }
  return result.data;
}

/** What the schema can't see: backend ids and host_path names are unique, default_backend names a backend. */
function checkReferences(cfg: z.infer<typeof configSchema>): void {
  const ids = new Set<string>();
  for (const b of cfg.backends) {
    if (ids.has(b.id)) throw new Error(`invalid configuration: backends: duplicate id '${b.id}'`);
    ids.add(b.id);
  }
  if (cfg.default_backend && !ids.has(cfg.default_backend)) {
    throw new Error(`invalid configuration: default_backend: no backend '${cfg.default_backend}'`);
  }
  checkShares(cfg.shares);
  checkObjectStores(cfg.object_stores);
  checkBackupStore(cfg);
  const names = new Set<string>();
  for (const [i, h] of cfg.host_paths.entries()) {
    if (names.has(h.name)) throw new Error(`invalid configuration: host_paths.${i}.name: duplicate name '${h.name}'`);
    names.add(h.name);
  }
  const profiles = new Set<string>();
  for (const [i, p] of cfg.profiles.entries()) {
    if (profiles.has(p.name)) throw new Error(`invalid configuration: profiles.${i}.name: duplicate name '${p.name}'`);
    profiles.add(p.name);
    // Each profile must make a valid create with its defaults: a broken preset is found at start, not by a user.
    if (p.environment.backend_id && !ids.has(p.environment.backend_id))
      throw new Error(
        `invalid configuration: profiles.${i}.environment.backend_id: no backend '${p.environment.backend_id}'`,
      );
    const why = defaultsProblem(p);
    if (why) throw new Error(`invalid configuration: profiles.${i} (${p.name}): ${why}`);
  }
}

function resolveTls(cfg: z.infer<typeof configSchema>): TlsSource {
  const { tls, tls_cert_file: cert, tls_key_file: key } = cfg;
  if (cert && !key) throw new Error('invalid configuration: tls_key_file: required with tls_cert_file');
  if (key && !cert) throw new Error('invalid configuration: tls_cert_file: required with tls_key_file');
  if (cert && key) {
    if (tls)
      throw new Error(
        `invalid configuration: tls: '${tls}' can't be combined with tls_cert_file/tls_key_file (leave tls out to use those files)`,
      );
    return { kind: 'files', certFile: cert, keyFile: key };
  }
  return tls === 'self-signed' ? { kind: 'self-signed' } : { kind: 'off' };
}

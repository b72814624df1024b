// A create: checked (backend, mode, storage, mounts, name, image, GPUs, the backend's own admission) before
// anything is written; then the row, its volumes, ports and GPU grants in one transaction.
import crypto from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Environment, SshServer, User } from '../../common/model';
import type { CreateEnvironmentInput } from '../../common/schemas';
import { capability, type AgentPayload, type Backends, type Driver } from '../contract';
import { ConflictError, InputError } from '../errors';
import { requestOf, type GpuService } from '../gpu/service';
import type { SecretBox } from '../secretBox';
import { vncPassword } from '../secretBox';
import { generateEd25519 } from '../services/keys';
import type { ProfileOrigin } from '../profiles/resolve';
import type { TeamQuotas } from '../profiles/quota';
import { EnvironmentRepo } from '../store/environments';
import { ProfileRepo } from '../store/profiles';
import type { Database } from '../store/schema';
import type { MountPolicy, PlannedMount } from './mounts';
import { allocatePort, DEFAULT_RDP_PORTS, DEFAULT_VNC_PORTS, type PortRange } from './ports';
import { previewSpec } from './spec';

export interface CreateDeps {
  db: Kysely<Database>;
  box?: SecretBox;
  repo: EnvironmentRepo;
  backends: Backends;
  gpus: GpuService;
  mounts: MountPolicy;
  vncPorts?: PortRange;
  rdpPorts?: PortRange;
  quotas?: TeamQuotas;
  /** ssh_server when a create gives none (config default_ssh_server). */
  defaultSshServer?: SshServer;
  /** hangar-agent, named in the preflight spec of agent envs (the backend's admission sees the agent's pod). */
  agent?: AgentPayload;
}

/** The row as written, and the host's private key (kept in memory for the first provisioning only). */
export interface Created {
  env: Environment;
  hostPrivateKey: string;
}

export const newJupyterToken = () => crypto.randomBytes(24).toString('hex');
export const newRdpPassword = () => crypto.randomBytes(12).toString('base64url');

/** Validates everything a create can be refused for; returns the backend and the checked mounts. */
async function check(
  d: CreateDeps,
  actor: User,
  input: CreateEnvironmentInput,
): Promise<{ driver: Driver; mounts: PlannedMount[]; answers: Promise<void> }> {
  const backendId = input.backend_id ?? d.backends.defaultId;
  if (!d.backends.has(backendId)) throw new InputError('backend_id', `backend_id: no backend '${backendId}'`);
  const driver = d.backends.get(backendId);
  if (!driver.modes.includes(input.deployment_mode)) {
    throw new InputError(
      'deployment_mode',
      `deployment_mode: '${input.deployment_mode}' is not served by backend '${backendId}' (${driver.kind}: ${driver.modes.join(', ')})`,
    );
  }
  checkStorageType(input.storage_type, backendId, driver.kind);
  checkClaimFields(input, driver);
  if (input.storage_config?.home && (driver.kind !== 'kubernetes' || !['pvc', 'ceph'].includes(input.storage_type)))
    throw new InputError(
      'storage_config.home',
      "storage_config.home: a home claim is for storage_type 'pvc' or 'ceph' on a Kubernetes backend",
    );
  // Host paths and volumes are checked before anything else: a refused mount never reaches a backend.
  const mounts = await d.mounts.plan(actor, backendId, input.storage_config?.mounts ?? []);
  if (await d.repo.findByName(actor.id, input.name))
    throw new ConflictError(`environment '${input.name}' already exists`);
  // Fail fast, before anything is written: the backend must answer (asked beside what follows, a Kubernetes
  // preflight's own round trip among it) and a 'never' image must be there.
  const answers = driver.info().then(() => undefined);
  answers.catch(() => undefined); // awaited before the insert; a refusal before then leaves it unheard
  if (input.image_pull_policy === 'never') await driver.ensureImage(input.image, 'never');
  return { driver, mounts, answers };
}

export async function createEnvironment(
  d: CreateDeps,
  actor: User,
  input: CreateEnvironmentInput,
  origin?: ProfileOrigin,
): Promise<Created> {
  const { driver, mounts, answers } = await check(d, actor, input);
  // The team's quota before anything is written (a 409 with the numbers).
  await d.quotas?.check(actor.id, { ...input, gpu_count: input.gpu_count || input.gpu_device_ids.length });
  const backendId = driver.id;
  const gpuReq = requestOf({ ...input, gpu_count: input.gpu_count || input.gpu_device_ids.length });
  d.gpus.validate(backendId, gpuReq);
  const allocate = gpuReq !== null && d.gpus.allocates(backendId);
  if (allocate) await d.gpus.ensureInventory(backendId);
  const hostKey = generateEd25519(`hangar-${input.name}`);
  const id = crypto.randomUUID();
  // The backend's own admission (Kubernetes: LimitRange, ResourceQuota) refuses before anything is recorded.
  const agent = sshServerFor(input, d.defaultSshServer, driver) === 'agent' ? d.agent : undefined;
  await Promise.all([
    answers,
    capability(driver, 'preflight')?.preflight({ ...previewSpec(id, actor, input, mounts), agent }),
  ]);
  try {
    // The row and its GPU grants commit together: a crash leaves both or neither. Creates of the same tick share
    // one transaction (a savepoint each) and one read of the GPUs (GpuService.transaction).
    const env = await d.gpus.transaction(async (trx) => {
      let row = await insertRow(d, trx, id, actor, input, mounts, hostKey.publicKey);
      const repo = new EnvironmentRepo(trx, d.box);
      // What the env keeps of its profile commits with the row (recreate and drift read it).
      if (origin) {
        await new ProfileRepo(trx).setEnvProfile(id, origin);
        row = (await repo.get(id))!;
      }
      if (!allocate) return row;
      try {
        const granted = await d.gpus.grantIn(trx, id, backendId, gpuReq!);
        return (await repo.update(id, { gpu_device_ids: granted }))!;
      } catch (err) {
        if (!(input.gpu_wait && err instanceof ConflictError)) throw err;
        // Asked to wait: queued (pending, nothing made) until GPUs free up; the GPU queue takes it from there.
        return (await repo.update(id, {
          status: 'pending',
          status_message: `waiting for GPUs: ${err.message.replace(/^no GPU fits: /, '')}`,
        }))!;
      }
    });
    return { env, hostPrivateKey: hostKey.privateKey };
  } catch (err) {
    if (/UNIQUE constraint failed: environments\.backend_id, environments\.vnc_port/.test(String(err)))
      throw new ConflictError(`vnc_port ${input.vnc_port} is already used on backend '${backendId}'`);
    if (/UNIQUE constraint failed: environments/.test(String(err)))
      throw new ConflictError(`environment '${input.name}' already exists`);
    throw err;
  }
}

/** storage_config as stored: its mounts as planned (resolved sources), everything else as given. */
function storedStorageConfig(
  input: CreateEnvironmentInput,
  mounts: PlannedMount[],
): CreateEnvironmentInput['storage_config'] {
  return (
    input.storage_config &&
    (input.storage_config.mounts
      ? { ...input.storage_config, mounts: mounts.map((m) => m.stored) }
      : input.storage_config)
  );
}

async function insertRow(
  d: CreateDeps,
  trx: Kysely<Database>,
  id: string,
  actor: User,
  input: CreateEnvironmentInput,
  mounts: PlannedMount[],
  hostPublicKey: string,
): Promise<Environment> {
  const backendId = input.backend_id ?? d.backends.defaultId;
  const wantsJupyter = input.environment_type === 'ide' || input.environment_type === 'data_process';
  const desktop = input.environment_type === 'desktop';
  const storageConfig = storedStorageConfig(input, mounts);
  await d.mounts.commit(trx, mounts);
  const local = d.backends.get(backendId).localPublishAddress;
  const vncPort = desktop
    ? await allocatePort(trx, 'vnc_port', backendId, input.vnc_port, d.vncPorts ?? DEFAULT_VNC_PORTS, local)
    : input.vnc_port;
  const rdpPort = desktop
    ? await allocatePort(trx, 'rdp_port', backendId, null, d.rdpPorts ?? DEFAULT_RDP_PORTS, local)
    : null;
  return new EnvironmentRepo(trx, d.box).insert({
    id,
    name: input.name,
    owner_id: actor.id,
    deployment_mode: input.deployment_mode,
    environment_type: input.environment_type,
    gpu_mode: input.gpu_mode,
    storage_type: input.storage_type,
    storage_config: storageConfig,
    lifecycle_policy: input.lifecycle_policy,
    lifecycle_config: input.lifecycle_config ?? null,
    network_config: input.network_config,
    use_jumpserver: input.use_jumpserver,
    vnc_port: vncPort,
    vnc_password: desktop ? vncPassword() : null,
    rdp_port: rdpPort,
    rdp_password: desktop ? newRdpPassword() : null,
    jupyter_token: wantsJupyter ? newJupyterToken() : null,
    backend_id: backendId,
    backend_ref: null,
    image: input.image,
    image_pull_policy: input.image_pull_policy,
    cpu: input.cpu,
    memory_mb: input.memory_mb,
    gpu_count: input.gpu_count || input.gpu_device_ids.length,
    gpu_device_ids: input.gpu_device_ids,
    gpu_model: input.gpu_model,
    gpu_mig_profile: input.gpu_mig_profile,
    env_vars: input.env_vars,
    ssh_user: input.ssh_user,
    ssh_server: sshServerFor(input, d.defaultSshServer, d.backends.get(backendId)),
    env_vars_from_secrets: input.env_vars_from_secrets,
    schedule: input.schedule,
    command: input.command,
    host_key: hostPublicKey,
    status: 'creating',
    status_message: null,
  });
}

/** Class, access modes and Ceph kind are for backends whose volumes are claims (declared: volumes.claims). */
function checkClaimFields(input: CreateEnvironmentInput, driver: Driver): void {
  if (capability(driver, 'volumes')?.claims) return;
  for (const [i, m] of (input.storage_config?.mounts ?? []).entries()) {
    const k = (['storage_class', 'access_modes', 'ceph'] as const).find((f) => m[f] !== undefined);
    if (k)
      throw new InputError(
        `storage_config.mounts.${i}.${k}`,
        `storage_config.mounts.${i}.${k}: backend '${driver.id}' has no storage classes (volumes there are not Kubernetes claims)`,
      );
  }
}

/** What each kind of backend does for a storage_type (nfs: mounts of the operator's shares; pvc: claims for the home
 *  directory and volumes; ceph: claims of the backend's mapped Ceph classes, or on Docker CephFS shares; s3: datasets). */
const STORAGE_TYPES: Record<string, readonly string[]> = {
  docker: ['local', 'nfs', 'ceph', 's3'],
  kubernetes: ['local', 'nfs', 'pvc', 'ceph', 's3'],
  libvirt: ['local', 'nfs', 's3'],
};

function checkStorageType(type: string, backendId: string, kind: string): void {
  if (STORAGE_TYPES[kind]?.includes(type)) return;
  const can = Object.entries(STORAGE_TYPES)
    .map(([k, ts]) => `${k}: ${ts.join(', ')}`)
    .join('; ');
  throw new InputError(
    'storage_type',
    `storage_type: '${type}' is not available on backend '${backendId}' (${kind}); what each kind of backend can: ${can}`,
  );
}

/** The ssh_server asked for, else the default where the backend can place the agent, else the image's sshd. */
function sshServerFor(input: CreateEnvironmentInput, fallback: SshServer | undefined, driver: Driver): SshServer {
  const placesAgent = driver.placesAgent !== false;
  if (input.ssh_server === 'agent' && !placesAgent)
    throw new InputError(
      'ssh_server',
      "ssh_server: this backend can't place hangar-agent (Kubernetes: set its agent_image); use ssh_server image",
    );
  if (input.ssh_server) return input.ssh_server;
  return placesAgent && driver.agentByDefault !== false ? (fallback ?? 'agent') : 'image';
}

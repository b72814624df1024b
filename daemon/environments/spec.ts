// A row (or a create's input) → the EnvSpec a backend gets: ports, mounts, GPUs, boot files, Kubernetes extras.
import type { Kysely } from 'kysely';
import type { Environment, HomeClaim, User } from '../../common/model';
import type { CreateEnvironmentInput } from '../../common/schemas';
import {
  INIT_PATH,
  jupyterPath,
  RDP_PORT,
  VNC_PORT,
  type AgentPayload,
  type DatasetSource,
  type EnvRecord,
  type EnvSpec,
} from '../contract';
import type { SshKeyService } from '../services/keys';
import type { EnvironmentRepo } from '../store/environments';
import type { Database } from '../store/schema';
import { bootFiles } from './bootFiles';
import type { MountPolicy, PlannedMount } from './mounts';

/** The row's facts that go with the backend object (no secrets), so an admin can adopt it after a restore. */
export function recordOf(e: Environment): EnvRecord {
  return {
    name: e.name,
    owner_id: e.owner_id,
    image: e.image,
    image_pull_policy: e.image_pull_policy,
    deployment_mode: e.deployment_mode,
    environment_type: e.environment_type,
    gpu_mode: e.gpu_mode,
    gpu_count: e.gpu_count,
    gpu_device_ids: e.gpu_device_ids,
    gpu_model: e.gpu_model,
    gpu_mig_profile: e.gpu_mig_profile,
    cpu: e.cpu,
    memory_mb: e.memory_mb,
    ssh_user: e.ssh_user,
    ssh_server: e.ssh_server,
    host_key: e.host_key,
    storage_type: e.storage_type,
    storage_config: e.storage_config,
    network_config: e.network_config,
    lifecycle_policy: e.lifecycle_policy,
    use_jumpserver: e.use_jumpserver,
    vnc_port: e.vnc_port,
    rdp_port: e.rdp_port,
    schedule: e.schedule,
    command: e.command,
    created_at: e.created_at,
  };
}

/** What a create will ask of the backend, before anything is recorded (no boot files yet): for preflight. */
export function previewSpec(id: string, actor: User, input: CreateEnvironmentInput, mounts: PlannedMount[]): EnvSpec {
  return {
    envId: id,
    name: input.name,
    owner: actor.id,
    team: actor.team ?? null,
    image: input.image,
    pullPolicy: input.image_pull_policy,
    deploymentMode: input.deployment_mode,
    gpuModel: input.gpu_model,
    gpuProfile: input.gpu_mig_profile,
    cpu: input.cpu,
    memoryMb: input.memory_mb,
    env: input.env_vars,
    secretEnv: input.env_vars_from_secrets,
    ports: input.network_config?.ports ?? [],
    expose: input.network_config?.expose,
    mounts: mounts.map((m) => m.spec),
    storageType: input.storage_type,
    home: homeOf(input.storage_config?.home),
    gpus: {
      mode: input.gpu_mode,
      deviceIds: input.gpu_device_ids,
      count: input.gpu_count || input.gpu_device_ids.length,
    },
    files: [],
    command: ['/bin/sh', INIT_PATH],
    schedule: input.schedule,
    runCommand: input.command,
  };
}

export interface SpecDeps {
  db: Kysely<Database>;
  repo: EnvironmentRepo;
  keys: SshKeyService;
  mounts: MountPolicy;
  /** Keys authorized for this env beyond its owner's (JumpServer's hosted account). */
  envKeys?: (envId: string) => Promise<string | undefined>;
  agent?: AgentPayload;
  /** The gateway's status probe key, put into agent envs' config (agentSessions.ts). */
  statusKey?: string;
  /** Datasets of envs that mount them themselves, with scoped credentials made now (datasetAccess.ts). */
  datasetSources?: (env: Environment) => Promise<ReadonlyMap<number, DatasetSource>>;
}

/** Builds a row's full spec (boot files included) at provisioning. */
export type SpecOf = (env: Environment, hostPrivateKey: string, sshPort?: number) => Promise<EnvSpec>;

export function specBuilder(d: SpecDeps): SpecOf {
  const teamOf = async (userId: string) =>
    (await d.db.selectFrom('users').select('team').where('id', '=', userId).executeTakeFirst())?.team ?? null;
  return async (env, hostPrivateKey, sshPort) => {
    const secrets = (await d.repo.secrets(env.id))!;
    return {
      envId: env.id,
      name: env.name,
      owner: env.owner_id,
      image: env.image,
      pullPolicy: env.image_pull_policy,
      deploymentMode: env.deployment_mode,
      gpuModel: env.gpu_model,
      gpuProfile: env.gpu_mig_profile,
      cpu: env.cpu,
      memoryMb: env.memory_mb,
      env: env.env_vars,
      ports: [
        ...(env.network_config?.ports?.map((p) => ({ ...p, host_ip: p.host_ip ?? env.network_config?.host_ip })) ?? []),
        // The allocated vnc_port, published on the backend host (127.0.0.1 unless configured) for VNC clients there.
        ...(env.vnc_port !== null && secrets.vnc_password
          ? [{ container_port: VNC_PORT, host_port: env.vnc_port }]
          : []),
        ...(env.rdp_port !== null && secrets.rdp_password
          ? [{ container_port: RDP_PORT, host_port: env.rdp_port }]
          : []),
      ],
      mounts: d.mounts.toSpec(env.storage_config?.mounts ?? [], env.id, await d.datasetSources?.(env)),
      storageType: env.storage_type,
      home: homeOf(env.storage_config?.home),
      gpus: { mode: env.gpu_mode, deviceIds: env.gpu_device_ids, count: env.gpu_count },
      files: bootFiles({
        user: env.ssh_user,
        authorizedKeys: withKey(await d.keys.authorizedKeys(env.owner_id), await d.envKeys?.(env.id)),
        sshPort,
        sshServer: env.ssh_server,
        statusKeys: d.statusKey ? [d.statusKey] : [],
        hostPrivateKey,
        hostPublicKey: env.host_key!,
        envVars: env.env_vars,
        jupyterToken: secrets.jupyter_token,
        vncPassword: secrets.vnc_password,
        rdpPassword: secrets.rdp_password,
        jupyterBaseUrl: jupyterPath(env.id),
        volumeDirs: (env.storage_config?.mounts ?? [])
          .filter((m) => m.type === 'volume' && !m.read_only)
          .map((m) => m.target),
      }),
      command: ['/bin/sh', INIT_PATH],
      agent: env.ssh_server === 'agent' ? d.agent : undefined,
      team: await teamOf(env.owner_id),
      secretEnv: env.env_vars_from_secrets,
      expose: env.network_config?.expose,
      schedule: env.schedule,
      runCommand: env.command,
      record: recordOf(env),
    };
  };
}

/** storage_config.home → what the backend's home claim asks for. */
function homeOf(h: HomeClaim | undefined): EnvSpec['home'] {
  return h && { storageClass: h.storage_class, accessModes: h.access_modes, ceph: h.ceph, sizeGb: h.size_gb };
}

/** The owner's keys, plus the env's own (JumpServer's hosted account) when it has one. */
export const withKey = (keys: string, extra: string | undefined) =>
  extra ? `${keys.replace(/\n*$/, '\n')}${extra}\n`.replace(/^\n/, '') : keys;

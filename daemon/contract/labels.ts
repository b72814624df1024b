// Labels every backend puts on what it makes for an env, and the record an orphan's row is rebuilt from.
import type { Environment } from '../../common/model';

export const LABELS = {
  managed: 'dev.hangar.managed',
  gateway: 'dev.hangar.gateway',
  backend: 'dev.hangar.backend',
  envId: 'dev.hangar.env-id',
  envName: 'dev.hangar.env-name',
  owner: 'dev.hangar.owner',
  /** JSON EnvRecord: what adopting the object rebuilds its row from. */
  record: 'dev.hangar.record',
} as const;

/** What an env's row is rebuilt from when an admin adopts an orphan (services/orphans.ts). No secrets: the Jupyter
 *  token and desktop passwords stay in the env's own files. Backends keep it with the object (a Docker label). */
export type EnvRecord = Pick<
  Environment,
  | 'name'
  | 'owner_id'
  | 'image'
  | 'image_pull_policy'
  | 'deployment_mode'
  | 'environment_type'
  | 'gpu_mode'
  | 'gpu_count'
  | 'gpu_device_ids'
  | 'gpu_model'
  | 'gpu_mig_profile'
  | 'cpu'
  | 'memory_mb'
  | 'ssh_user'
  | 'host_key'
  | 'storage_type'
  | 'storage_config'
  | 'network_config'
  | 'lifecycle_policy'
  | 'use_jumpserver'
  | 'vnc_port'
  | 'rdp_port'
  | 'schedule'
  | 'command'
  | 'created_at'
> &
  Partial<Pick<Environment, 'ssh_server'>>;

/** A record label's JSON, or undefined when absent or not one (an object made before records, or by hand). */
export function parseRecord(raw: string | undefined): EnvRecord | undefined {
  if (!raw) return undefined;
  try {
    const r = JSON.parse(raw) as EnvRecord;
    return r && typeof r.name === 'string' && typeof r.owner_id === 'string' && typeof r.image === 'string'
      ? r
      : undefined;
  } catch {
    return undefined;
  }
}

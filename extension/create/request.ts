// Answers of the create flow → a validated API request. Pure (no vscode), so every rule is unit-tested.
import type { BackendInfo, Mount } from '../../common/model';
import {
  createEnvironmentSchema,
  describeZodError,
  envName,
  type CreateEnvironmentRequest,
} from '../../common/schemas';

export interface CreateAnswers {
  name: string;
  environment_type: string;
  backend: Pick<BackendInfo, 'id' | 'kind'>;
  image: string;
  cpu: string;
  memory: string;
  gpu_mode: string;
  gpu_count: string;
  gpu_device_ids: string;
  /** '' = any model. */
  gpu_model?: string;
  gpu_mig_profile?: string;
  storage_type: string;
  lifecycle_policy: string;
  use_jumpserver: boolean;
  /** Pre-filled by "Mount in a new environment" (the Storage view). */
  mounts?: Mount[];
}

/** Which deployment_mode a backend kind gets (Kubernetes offers both; the first is the default). */
export const MODES_BY_KIND: Record<BackendInfo['kind'], string[]> = {
  docker: ['docker_local'],
  kubernetes: ['k8s_pod', 'k8s_stateful'],
  libvirt: ['vm'],
  ssh: ['bare_metal'],
};

/** Validates one field while the user types: the message, or undefined when fine. */
export function checkName(v: string): string | undefined {
  const r = envName.safeParse(v);
  return r.success ? undefined : r.error.issues[0].message;
}

export function checkNumber(
  v: string,
  opts: { min: number; integer?: boolean; optional?: boolean },
): string | undefined {
  if (v.trim() === '') return opts.optional ? undefined : 'required';
  const n = Number(v);
  if (!Number.isFinite(n)) return 'must be a number';
  if (opts.integer && !Number.isInteger(n)) return 'must be a whole number';
  if (n < opts.min) return `must be at least ${opts.min}`;
  return undefined;
}

export function buildCreateRequest(a: CreateAnswers): { request?: CreateEnvironmentRequest; error?: string } {
  const ids = a.gpu_device_ids.split(/[\s,]+/).filter(Boolean);
  const count = a.gpu_count.trim() ? Number(a.gpu_count) : ids.length;
  const req: CreateEnvironmentRequest = {
    name: a.name.trim(),
    image: a.image.trim(),
    environment_type: a.environment_type as CreateEnvironmentRequest['environment_type'],
    backend_id: a.backend.id,
    deployment_mode: MODES_BY_KIND[a.backend.kind][0] as CreateEnvironmentRequest['deployment_mode'],
    cpu: a.cpu.trim() ? Number(a.cpu) : null,
    memory_mb: a.memory.trim() ? Number(a.memory) : null,
    gpu_mode: a.gpu_mode as CreateEnvironmentRequest['gpu_mode'],
    gpu_count: a.gpu_mode === 'none' || (a.gpu_mode === 'mig' && !a.gpu_count.trim()) ? 0 : count,
    gpu_device_ids: a.gpu_mode === 'none' ? [] : ids,
    gpu_model: a.gpu_mode === 'none' || !a.gpu_model ? null : a.gpu_model,
    gpu_mig_profile: a.gpu_mode === 'mig' && a.gpu_mig_profile ? a.gpu_mig_profile : null,
    storage_type: a.storage_type as CreateEnvironmentRequest['storage_type'],
    lifecycle_policy: a.lifecycle_policy as CreateEnvironmentRequest['lifecycle_policy'],
    use_jumpserver: a.use_jumpserver,
    ...(a.mounts?.length ? { storage_config: { mounts: a.mounts } } : {}),
  };
  const r = createEnvironmentSchema.safeParse(req);
  if (!r.success) return { error: describeZodError(r.error).message };
  return { request: req };
}

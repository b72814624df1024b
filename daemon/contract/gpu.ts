// One inventory and one allocator for GPUs on every kind of backend.
export type { GpuDevice } from '../../common/model';

export interface GpuGrant {
  id: string;
  env_id: string;
  device_id: string;
  mode: 'exclusive' | 'mig' | 'shared' | 'vgpu';
  created_at: string;
}

export interface GpuRequest {
  mode: 'exclusive' | 'mig' | 'shared' | 'vgpu';
  count: number;
  model: string | null;
  profile: string | null;
  /** Exact devices the user named (must be free). */
  deviceIds: string[];
}

// One inventory and one allocator for GPUs on every kind of backend.
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

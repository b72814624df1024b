// What some backends can do beyond the core (driver.ts). A backend declares what it has in `capabilities`;
// callers ask by name and get the typed interface or undefined — never probe methods or switch on `kind`.
import type { ExposedService, GpuMode, Snapshot, VmTemplate, VolumeState } from '../../common/model';
import type { BackendStatus, EnvSpec } from './spec';
import type { GpuDevice } from './gpu';
import type {
  DiskImagesCapability,
  EnvDataCapability,
  VolumeArchiveCapability,
  VolumeSnapshotsCapability,
} from './volumeData';

/** VM snapshots (libvirt: internal qcow2 snapshots, with memory when running). */
export interface SnapshotsCapability {
  create(ref: string, name: string, description?: string): Promise<Snapshot>;
  list(ref: string): Promise<Snapshot[]>;
  revert(ref: string, name: string): Promise<void>;
  delete(ref: string, name: string): Promise<void>;
}

export type TemplateMeta = Omit<VmTemplate, 'backend_id' | 'disk_bytes' | 'created_at' | 'used_by'>;
/** Where an imported file comes from: a path on the gateway, or an http(s) URL the gateway can fetch. */
export type TemplateSource = { file: string } | { url: string };
export interface TemplateImport extends TemplateMeta {
  disk: TemplateSource;
  kernel?: TemplateSource;
  initrd?: TemplateSource;
}

/** VM templates (the base images a libvirt host's envs boot from). */
export interface TemplatesCapability {
  list(): Promise<VmTemplate[]>;
  import(req: TemplateImport, signal?: AbortSignal): Promise<VmTemplate>;
  delete(name: string): Promise<void>;
}

/** The GPUs this backend has (nvidia-smi on a Docker host, node resources on a cluster, mdev/PCI on libvirt). */
export interface GpuInventoryCapability {
  /** Throws when the host answers but its GPUs can't be read. */
  inventory(): Promise<GpuDevice[]>;
  /** 'gateway': the daemon grants devices (Docker, libvirt); 'scheduler': the backend places them (Kubernetes). */
  readonly allocation: 'gateway' | 'scheduler';
  /** The gpu_modes an env may ask for here. */
  readonly modes: readonly Exclude<GpuMode, 'none'>[];
}

/** Pushes status changes of this backend's environments as they happen (Kubernetes: watches). `onResync` is called
 *  after the watch was lost and re-established (events may have been missed: reconcile). Returns stop. */
export interface StatusWatchCapability {
  watch(onChange: (envId: string, status: BackendStatus) => void, onResync: () => void): () => void;
}

/** Checks a spec with the backend before anything is recorded (Kubernetes: a server-side dry run of the pod, so a
 *  LimitRange or ResourceQuota refuses it at create time); UnprocessableError with the backend's message. */
export interface PreflightCapability {
  preflight(spec: EnvSpec): Promise<void>;
}

/** How an env is reachable from outside its backend when network_config.expose asks (NodePort/LoadBalancer). */
export interface ExposureCapability {
  exposure(ref: string): Promise<ExposedService | undefined>;
}

/** The image's labels (access protocols an image declares, e.g. dev.hangar.access.rstudio=8787). */
export interface ImageLabelsCapability {
  imageLabels(image: string): Promise<Record<string, string>>;
}

/** What answers once the env is up (default ssh): a Windows VM answers RDP, a VNC-only VM just runs. */
export interface ReadinessHintCapability {
  probe(ref: string): Promise<'ssh' | 'rdp' | 'running'>;
}

/** Backends that know when an env is ready (Kubernetes: pod Ready) say so; otherwise the gateway waits for the SSH
 *  banner through openPort. Resolves with the state it settled in when that isn't plain running: `pending` (can't
 *  be placed yet; the watch reports when it is), `stopped`/`failed` (a Job that already ended). */
export interface ReadyWaitCapability {
  waitReady(ref: string, signal?: AbortSignal): Promise<BackendStatus | void>;
}

/** Named volumes made on purpose (POST /volumes) and removed on purpose: a Docker named volume, a libvirt data disk.
 *  `name` is the gateway's (hangar-vol-<id>); `labels` say whose it is. resize only where the backend can. */
export interface VolumesCapability {
  create(name: string, labels: Record<string, string>, sizeGb?: number, opts?: VolumeOptions): Promise<void>;
  remove(name: string): Promise<void>;
  resize?(name: string, sizeGb: number): Promise<void>;
  /** Kubernetes: volumes are claims with a class and access modes (a create may give them); their size is needed. */
  readonly claims?: { defaultSizeGb: number };
  /** The backend objects of this gateway's volumes now, by backend name (Kubernetes: the claims' phases). */
  states?(): Promise<Map<string, VolumeState>>;
}

/** What a volume's create may ask beyond a name and size (claims), and whose namespace it goes to. */
export interface VolumeOptions {
  storageClass?: string;
  accessModes?: string[];
  ceph?: 'cephfs' | 'rbd';
  /** The owner's team (a per-team namespace policy puts a user's claims in the team's namespace). */
  team?: string | null;
}

/** Datasets copied into the env at start rather than mounted (Kubernetes pods): copy the read-write ones back to
 *  their prefixes now, while it runs (they are copied back at stop anyway). */
export interface DatasetSyncBackCapability {
  /** One result per read-write dataset, by its index in storage_config.mounts. */
  syncBack(ref: string): Promise<DatasetSyncBack[]>;
}
export interface DatasetSyncBack {
  mountIndex: number;
  ok: boolean;
  /** Why not: the copy's last error line. */
  message?: string;
}

export interface Capabilities {
  volumes?: VolumesCapability;
  volumeSnapshots?: VolumeSnapshotsCapability;
  volumeArchive?: VolumeArchiveCapability;
  envData?: EnvDataCapability;
  diskImages?: DiskImagesCapability;
  snapshots?: SnapshotsCapability;
  templates?: TemplatesCapability;
  gpus?: GpuInventoryCapability;
  statusWatch?: StatusWatchCapability;
  preflight?: PreflightCapability;
  exposure?: ExposureCapability;
  imageLabels?: ImageLabelsCapability;
  readinessHint?: ReadinessHintCapability;
  readyWait?: ReadyWaitCapability;
  datasetSyncBack?: DatasetSyncBackCapability;
}
export type CapabilityName = keyof Capabilities;

/** The capability `name` of a backend, typed, or undefined when it has none. */
export function capability<K extends CapabilityName>(
  d: { readonly capabilities: Capabilities },
  name: K,
): Capabilities[K] {
  return d.capabilities[name];
}

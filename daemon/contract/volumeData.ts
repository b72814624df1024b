// What backends can do with a volume's data beyond making and removing it (capabilities.ts lists them by name):
// snapshots the backend keeps itself, and tar archives of a volume or an env's directory the gateway carries to the
// backup store. Names are the gateway's (hangar-vol-<id>, hangar-snap-<id>), never a user's input.
import type { Readable } from 'node:stream';

export interface BackendSnapshotState {
  /** ready: can be restored; pending: the backend is still taking it (a CSI driver's readyToUse not yet true). */
  state: 'ready' | 'pending' | 'failed';
  size_bytes?: number;
  message?: string;
}

/** Snapshots kept by the backend: a Kubernetes VolumeSnapshot of a claim, a copy of a VM's qcow2 data disk. */
export interface VolumeSnapshotsCapability {
  readonly kind: 'csi' | 'disk';
  create(volume: string, snapshot: string): Promise<BackendSnapshotState>;
  state(volume: string, snapshot: string): Promise<BackendSnapshotState>;
  /** Into `target`: a new volume made from the snapshot, or (replace) the source volume's content put back. */
  restore(volume: string, snapshot: string, target: string, o: { replace: boolean }): Promise<BackendSnapshotState>;
  delete(volume: string, snapshot: string): Promise<void>;
  /** Kubernetes, for a stopped env's backup restore: the claim `volume` is deleted and made again under its name with
   *  the snapshot as its dataSource (same class, access modes, labels), so the env's workload needs no change. */
  swapIn?(volume: string, snapshot: string): Promise<void>;
}

/** An archive's stream and how it ended (rejects when the backend failed half-way). */
export interface TarExport {
  stream: Readable;
  done: Promise<void>;
}

/** Docker: a volume (or a path of an env's container) as a tar stream through the engine's archive API, on a
 *  helper container made — never started, never pulled — from an image the engine already has. */
export interface VolumeArchiveCapability {
  /** The directory every entry of a volume's archive lies under (checked before a restore). */
  readonly volumeRoot: string;
  /** The first of `images` the engine has (an env's own image); 422 when it has none of them. */
  helperImage(images: string[]): Promise<string>;
  exportVolume(volume: string, image: string): Promise<TarExport>;
  /** clear: the volume's old content is removed first (a helper run of `image` with no network). */
  importVolume(volume: string, tar: Readable, image: string, o: { clear: boolean }): Promise<void>;
  exportPath(ref: string, path: string): Promise<TarExport>;
  /** replace: `path` becomes exactly the archive's content (what else was there is gone), in one extraction; 409 when
   *  a mount lies at or inside `path` (it would be emptied). Without it the archive is extracted over what is there. */
  importPath(ref: string, path: string, tar: Readable, o?: { replace?: boolean }): Promise<void>;
}

/** An env's own data besides its volumes, by the backend's name for it: a VM's root overlay disk (hangar-<env>, all
 *  the guest wrote, /home included, over its template), a pod's home claim. `path`: where the env sees it. */
export interface EnvDataObject {
  name: string;
  path: string;
}

/** Which of an env's objects hold its own data (what a backup of the env takes besides its volumes). */
export interface EnvDataCapability {
  home(ref: string): Promise<EnvDataObject | undefined>;
}

/** libvirt: whole disks (an env's root overlay, a data disk hangar-vol-<id>) as the exact bytes of their qcow2 files. */
export interface DiskImagesCapability {
  /** The disk's bytes. With `runningIn` (the domain that runs with it) a point-in-time copy of its top layer is made
   *  first (blockcopy, then the job ended) and read instead; the copy is removed when `done` settles. */
  export(disk: string, runningIn?: string): Promise<TarExport>;
  /** The disk becomes exactly the file's bytes (no VM may hold it); resolves with the SHA-256 read back from the pool. */
  import(disk: string, file: string): Promise<string>;
}

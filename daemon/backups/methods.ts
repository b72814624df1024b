// How a backend's env data is backed up, by what it declares: Docker archives (tar of the home and of each volume,
// volumeArchive), libvirt disk images (the root overlay and data disks as their qcow2 bytes, diskImages), both into
// the backup store; Kubernetes VolumeSnapshots of the home claim and the volumes' claims (volumeSnapshots of kind
// csi), which stay in the cluster. An item's object_key says which it is: `csi/<backend>/<claim>/<snapshot>` for a
// VolumeSnapshot, a store key ending in .qcow2 for a disk image, .tar for an archive.
import type { BackupItem } from '../../common/snapshots';
import {
  capability,
  type Backends,
  type DiskImagesCapability,
  type Driver,
  type VolumeArchiveCapability,
  type VolumeSnapshotsCapability,
} from '../contract';
import { UnprocessableError } from '../errors';
import type { ArchiveStore } from '../snapshots/archiveStore';
import type { BackupItemsTable } from '../store/schema';

export type Method =
  | { kind: 'tar'; arch: VolumeArchiveCapability; store: ArchiveStore }
  | { kind: 'disk'; disks: DiskImagesCapability; store: ArchiveStore }
  | { kind: 'csi'; snaps: VolumeSnapshotsCapability; backendId: string };

const canBackUp = (d: Driver) => {
  const snaps = capability(d, 'volumeSnapshots');
  return Boolean(
    capability(d, 'volumeArchive') ||
    capability(d, 'diskImages') ||
    (snaps?.kind === 'csi' && snaps.swapIn && capability(d, 'envData')),
  );
};

/** The method for a backend, and the store where it needs one; 422 saying what is missing. */
export function methodFor(backends: Backends, archives: ArchiveStore | undefined, backendId: string): Method {
  const drv = backends.has(backendId) ? backends.get(backendId) : undefined;
  if (!drv || !canBackUp(drv)) {
    const can = backends.all().filter(canBackUp);
    throw new UnprocessableError(
      `backend '${backendId}' can't back up env data (backends that can: ${can.map((d) => d.id).join(', ') || 'none'})`,
    );
  }
  const snaps = capability(drv, 'volumeSnapshots');
  if (!capability(drv, 'volumeArchive') && !capability(drv, 'diskImages') && snaps?.kind === 'csi')
    return { kind: 'csi', snaps, backendId };
  if (!archives) throw new UnprocessableError('no backup store is configured (backup_store in the config)');
  const arch = capability(drv, 'volumeArchive');
  if (arch) return { kind: 'tar', arch, store: archives };
  return { kind: 'disk', disks: capability(drv, 'diskImages')!, store: archives };
}

export interface CsiKey {
  backendId: string;
  claim: string;
  snapshot: string;
}
export const csiKey = (k: CsiKey) => `csi/${k.backendId}/${k.claim}/${k.snapshot}`;
export function parseCsiKey(key: string): CsiKey | undefined {
  const m = /^csi\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(key);
  return m ? { backendId: m[1], claim: m[2], snapshot: m[3] } : undefined;
}

export function itemKind(key: string): BackupItem['kind'] {
  if (parseCsiKey(key)) return 'volume_snapshot';
  return key.endsWith('.qcow2') ? 'disk_image' : 'archive';
}

/** Removes an item's object: the store's, or the VolumeSnapshot (where its backend is still configured). */
export async function dropItem(backends: Backends, archives: ArchiveStore | undefined, key: string): Promise<void> {
  const csi = parseCsiKey(key);
  if (!csi) return archives?.delete(key);
  if (!backends.has(csi.backendId)) return;
  await capability(backends.get(csi.backendId), 'volumeSnapshots')?.delete(csi.claim, csi.snapshot);
}

/** An item's row: what it is, where its object is, its size and checksum. */
export function itemRow(
  backupId: string,
  name: string,
  w: { key: string; size_bytes: number; sha256: string },
  volumeId: string | null,
  path: string | null,
): BackupItemsTable {
  return {
    backup_id: backupId,
    item: name,
    volume_id: volumeId,
    path,
    object_key: w.key,
    size_bytes: w.size_bytes,
    sha256: w.sha256,
  };
}

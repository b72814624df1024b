// Backups of VM data as disk images in the backup store: the env's root overlay (item `home`, path `/`: everything
// the guest wrote over its template) and each data disk (item `volume:<id>`), each the exact bytes of its qcow2 file
// with their SHA-256. A running env's disks are copied at one point in time by the backend first (crash-consistent).
// A restore fetches every image and checks its SHA-256 before the first disk is replaced, then reads each disk back
// from the pool and compares it again: the disk holds exactly the backup's bytes.
import type { Volume } from '../../common/model';
import type { DiskImagesCapability, EnvDataObject, TarExport } from '../contract';
import { UnprocessableError } from '../errors';
import type { ArchiveStore, Written } from '../snapshots/archiveStore';
import type { BackupRow } from '../store/backups';
import type { BackupItemsTable } from '../store/schema';
import { itemRow } from './methods';

export interface DiskPlan {
  id: string;
  disks: DiskImagesCapability;
  store: ArchiveStore;
  home?: EnvDataObject;
  volumes: Volume[];
  /** The domain, when the env runs: its disks are copied at one point in time first. */
  runningIn?: string;
}

async function putImage(store: ArchiveStore, key: string, exp: TarExport): Promise<Written> {
  try {
    const [w] = await Promise.all([store.put(key, exp.stream), exp.done]);
    return w;
  } catch (err) {
    exp.stream.destroy(); // ends the backend's reader (virsh) when the store gave up first
    await exp.done.catch(() => undefined);
    throw err;
  }
}

export async function writeDisks(p: DiskPlan, out: BackupItemsTable[]): Promise<void> {
  if (p.home) {
    const key = p.store.key('backups', p.id, 'root.qcow2');
    const w = await putImage(p.store, key, await p.disks.export(p.home.name, p.runningIn));
    out.push(itemRow(p.id, 'home', w, null, p.home.path));
  }
  for (const v of p.volumes) {
    const key = p.store.key('backups', p.id, `volume-${v.id}.qcow2`);
    const w = await putImage(p.store, key, await p.disks.export(v.backend_name, p.runningIn));
    out.push(itemRow(p.id, `volume:${v.id}`, w, v.id, null));
  }
}

/** The disks become the backup's images (the env stopped, or the volume held by none: the caller checked). */
export async function restoreDisks(b: BackupRow, p: Omit<DiskPlan, 'id' | 'runningIn'>): Promise<void> {
  const targets = b.items.map((i) => {
    const name = i.item === 'home' ? p.home?.name : p.volumes.find((v) => v.id === i.volume_id)?.backend_name;
    if (!name) throw new UnprocessableError(`backup ${b.id}: the env has no disk for item '${i.item}' any more`);
    return { i, name };
  });
  const files: { file: string; cleanup: () => void }[] = [];
  try {
    for (const t of targets) files.push(await p.store.fetchVerified(t.i.object_key, t.i.sha256));
    for (const [n, t] of targets.entries()) {
      const got = await p.disks.import(t.name, files[n].file);
      if (got !== t.i.sha256)
        throw new UnprocessableError(
          `disk ${t.name} holds SHA-256 ${got} after the restore, the backup ${t.i.sha256}: run the restore again`,
        );
    }
  } finally {
    for (const f of files) f.cleanup();
  }
}

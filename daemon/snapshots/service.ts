// Snapshots of volumes, whatever the backend: a Docker volume becomes a tar archive in the backup store (checksummed),
// a Kubernetes claim a VolumeSnapshot, a VM data disk a copy in its pool. Restores go into a new volume or back into
// the same one (not while an env holds it: 409). The row is written first; a snapshot that fails half-way leaves no
// row and no object behind.
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { User, Volume } from '../../common/model';
import type { CreateSnapshotInput, RestoreSnapshotInput, VolumeSnapshot } from '../../common/snapshots';
import { capability, type Backends, type Driver } from '../contract';
import { ConflictError, NotFoundError, UnprocessableError } from '../errors';
import type { AuditRepo } from '../store/users';
import { backendVolumeName } from '../store/volumes';
import { backendSnapshotName, SnapshotRepo, type SnapshotRow } from '../store/snapshots';
import type { ArchiveStore } from './archiveStore';
import { checkTar } from './tarCheck';
import type { VolumeAccess } from './volumeAccess';

export interface SnapshotServiceOptions {
  repo: SnapshotRepo;
  backends: Backends;
  volumes: VolumeAccess;
  /** Absent when no backup_store is configured: Docker volumes can't be snapshotted then (422). */
  archives?: ArchiveStore;
  audit: AuditRepo;
  now?: () => number;
}

/** A file's stream whose late open error (the file removed after a failure) can't go unhandled. */
export const readFile = (file: string) => fs.createReadStream(file).once('error', () => undefined);

const publicOf = ({ object_key: _k, ...s }: SnapshotRow): VolumeSnapshot => s;

export class SnapshotService {
  constructor(private readonly o: SnapshotServiceOptions) {}

  private now(): string {
    return new Date(this.o.now?.() ?? Date.now()).toISOString();
  }

  async list(actor: User, volumeId: string): Promise<VolumeSnapshot[]> {
    const v = await this.o.volumes.get(actor, volumeId);
    const rows = await this.o.repo.list(v.id);
    return Promise.all(rows.map(async (r) => publicOf(await this.refresh(v, r))));
  }

  async get(actor: User, snapshotId: string): Promise<VolumeSnapshot> {
    const { v, row } = await this.mine(actor, snapshotId);
    return publicOf(await this.refresh(v, row));
  }

  async create(actor: User, volumeId: string, req: CreateSnapshotInput): Promise<VolumeSnapshot> {
    const v = await this.o.volumes.get(actor, volumeId);
    const drv = this.driver(v);
    const name = req.name ?? `snap-${this.now().replace(/[-:]/g, '').slice(0, 15)}`;
    if (await this.o.repo.findByName(v.id, name))
      throw new ConflictError(`volume '${v.name}' already has a snapshot '${name}'`);
    const id = crypto.randomUUID();
    const base = { id, volume_id: v.id, name, backend_id: v.backend_id, created_by: actor.id, created_at: this.now() };
    const snaps = capability(drv, 'volumeSnapshots');
    if (snaps) {
      // A disk is copied only while no VM holds it.
      if (snaps.kind === 'disk') await this.o.volumes.refuseIfInUse(v, 'snapshotting its disk');
      await this.o.repo.insert({ ...base, kind: snaps.kind, status: 'creating', store: null, object_key: null });
      try {
        const st = await snaps.create(v.backend_name, backendSnapshotName(id));
        await this.o.repo.update(id, { status: st.state, message: st.message ?? null, size_bytes: st.size_bytes });
      } catch (err) {
        await this.o.repo.delete(id);
        throw err;
      }
    } else await this.archive(v, drv, base);
    await this.o.audit.record({ user_id: actor.id, action: 'snapshot.volume_create', target: id, detail: { name } });
    return publicOf((await this.o.repo.get(id))!);
  }

  /** Docker: the volume's tar into the store; the row becomes ready with its size and SHA-256. */
  private async archive(
    v: Volume,
    drv: Driver,
    base: { id: string; volume_id: string; name: string; backend_id: string; created_by: string; created_at: string },
  ): Promise<void> {
    const arch = capability(drv, 'volumeArchive');
    const store = this.archives(v);
    if (!arch) throw this.cannot(v);
    await store.check();
    const image = await arch.helperImage(await this.o.volumes.helperImages(v));
    const key = store.key('volumes', v.id, `${base.id}.tar`);
    await this.o.repo.insert({ ...base, kind: 'archive', status: 'creating', store: store.name, object_key: key });
    try {
      const exp = await arch.exportVolume(v.backend_name, image);
      const [w] = await Promise.all([store.put(key, exp.stream), exp.done]);
      await this.o.repo.update(base.id, { status: 'ready', size_bytes: w.size_bytes, sha256: w.sha256 });
    } catch (err) {
      await store.delete(key).catch(() => undefined);
      await this.o.repo.delete(base.id);
      throw err;
    }
  }

  async delete(actor: User, snapshotId: string): Promise<void> {
    const { v, row } = await this.mine(actor, snapshotId);
    if (row.kind === 'archive') {
      if (row.object_key) await this.archives(v).delete(row.object_key);
    } else await capability(this.driver(v), 'volumeSnapshots')?.delete(v.backend_name, backendSnapshotName(row.id));
    await this.o.repo.delete(row.id);
    await this.o.audit.record({ user_id: actor.id, action: 'snapshot.volume_delete', target: row.id, detail: {} });
  }

  /** Deletes every snapshot of a volume (the volume is being removed). */
  async deleteAllOf(actor: User, volumeId: string): Promise<void> {
    for (const s of await this.o.repo.list(volumeId)) await this.delete(actor, s.id);
  }

  async restore(actor: User, snapshotId: string, req: RestoreSnapshotInput): Promise<Volume> {
    const { v, row } = await this.mine(actor, snapshotId);
    const fresh = await this.refresh(v, row);
    if (fresh.status !== 'ready')
      throw new ConflictError(`snapshot '${row.name}' is ${fresh.status}${fresh.message ? `: ${fresh.message}` : ''}`);
    if (req.into === 'same') {
      await this.o.volumes.refuseIfInUse(v, 'restoring into it');
      await this.restoreInto(v, row, v, true, {});
      await this.record(actor, row, v);
      return this.o.volumes.get(actor, v.id);
    }
    const target = await this.o.volumes.newRow(actor, v, req.name ?? `${v.name}-${row.name}`.slice(0, 63));
    try {
      await this.restoreInto(v, row, target, false, this.o.volumes.labels(target, actor));
    } catch (err) {
      await this.o.volumes.dropRow(target.id);
      throw err;
    }
    await this.record(actor, row, target);
    return this.o.volumes.get(actor, target.id);
  }

  private async restoreInto(
    v: Volume,
    row: SnapshotRow,
    target: Volume,
    replace: boolean,
    labels: Record<string, string>,
  ): Promise<void> {
    const drv = this.driver(v);
    if (row.kind !== 'archive') {
      const snaps = capability(drv, 'volumeSnapshots');
      if (!snaps) throw this.cannot(v);
      const st = await snaps.restore(v.backend_name, backendSnapshotName(row.id), target.backend_name, { replace });
      if (st.state === 'failed') throw new UnprocessableError(`restore failed: ${st.message ?? 'the backend said so'}`);
      return;
    }
    const arch = capability(drv, 'volumeArchive');
    if (!arch || !row.object_key || !row.sha256) throw this.cannot(v);
    const { file, cleanup } = await this.archives(v).fetchVerified(row.object_key, row.sha256);
    try {
      // Read through first: a cut or corrupt archive must not leave the volume emptied (or a new one half made).
      await checkTar(file, arch.volumeRoot, `snapshot ${row.id}`);
      const image = await arch.helperImage(await this.o.volumes.helperImages(v));
      if (!replace) await capability(drv, 'volumes')?.create(target.backend_name, labels, target.size_gb ?? undefined);
      await arch.importVolume(target.backend_name, readFile(file), image, { clear: replace });
    } catch (err) {
      if (!replace)
        await capability(drv, 'volumes')
          ?.remove(backendVolumeName(target.id))
          .catch(() => undefined);
      throw err;
    } finally {
      cleanup();
    }
  }

  private async record(actor: User, row: SnapshotRow, into: Volume): Promise<void> {
    await this.o.audit.record({
      user_id: actor.id,
      action: 'snapshot.volume_restore',
      target: row.id,
      detail: { into: into.id },
    });
  }

  /** A pending CSI snapshot asks the backend again (readyToUse may have turned true). */
  private async refresh(v: Volume, row: SnapshotRow): Promise<SnapshotRow> {
    if (row.status !== 'pending') return row;
    const snaps = this.o.backends.has(v.backend_id)
      ? capability(this.o.backends.get(v.backend_id), 'volumeSnapshots')
      : undefined;
    const st = await snaps?.state(v.backend_name, backendSnapshotName(row.id)).catch(() => undefined);
    if (!st || st.state === row.status) return row;
    await this.o.repo.update(row.id, { status: st.state, message: st.message ?? null, size_bytes: st.size_bytes });
    return (await this.o.repo.get(row.id))!;
  }

  private async mine(actor: User, snapshotId: string): Promise<{ v: Volume; row: SnapshotRow }> {
    const row = await this.o.repo.get(snapshotId);
    if (!row) throw new NotFoundError('snapshot', snapshotId);
    const v = await this.o.volumes.get(actor, row.volume_id).catch((err) => {
      throw err instanceof NotFoundError ? new NotFoundError('snapshot', snapshotId) : err;
    });
    return { v, row };
  }

  private driver(v: Volume): Driver {
    if (!this.o.backends.has(v.backend_id))
      throw new UnprocessableError(`volume '${v.name}' is on backend '${v.backend_id}', which is not configured`);
    return this.o.backends.get(v.backend_id);
  }

  private archives(v: Volume): ArchiveStore {
    if (!this.o.archives)
      throw new UnprocessableError(
        `volume '${v.name}' is archived into the backup store, and none is configured (backup_store in the config)`,
      );
    return this.o.archives;
  }

  private cannot(v: Volume): UnprocessableError {
    const can = this.o.backends
      .all()
      .filter((d) => capability(d, 'volumeSnapshots') || capability(d, 'volumeArchive'))
      .map((d) => d.id);
    return new UnprocessableError(
      `backend '${v.backend_id}' can't snapshot volumes (backends that can: ${can.join(', ') || 'none'})`,
    );
  }
}

// Rows of volume snapshots (volume_snapshots): written before the backend or the store is touched, marked ready or
// failed after; a failed one never reads as ready.
import type { Kysely, Selectable } from 'kysely';
import type { SnapshotKind, VolumeSnapshot, VolumeSnapshotStatus } from '../../common/snapshots';
import type { Database, VolumeSnapshotsTable } from './schema';

/** The backend's name for a snapshot: from its id only. */
export const backendSnapshotName = (id: string) => `hangar-snap-${id}`;

const toDomain = (r: Selectable<VolumeSnapshotsTable>): VolumeSnapshot & { object_key: string | null } => ({
  id: r.id,
  volume_id: r.volume_id,
  name: r.name,
  backend_id: r.backend_id,
  kind: r.kind as SnapshotKind,
  status: r.status as VolumeSnapshotStatus,
  message: r.message,
  store: r.store,
  size_bytes: r.size_bytes,
  sha256: r.sha256,
  created_at: r.created_at,
  object_key: r.object_key,
});
export type SnapshotRow = ReturnType<typeof toDomain>;

export class SnapshotRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(r: Omit<VolumeSnapshotsTable, 'message' | 'size_bytes' | 'sha256'>): Promise<SnapshotRow> {
    await this.db
      .insertInto('volume_snapshots')
      .values({ ...r, message: null, size_bytes: null, sha256: null })
      .execute();
    return (await this.get(r.id))!;
  }

  async get(id: string): Promise<SnapshotRow | undefined> {
    const r = await this.db.selectFrom('volume_snapshots').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toDomain(r);
  }

  async list(volumeId: string): Promise<SnapshotRow[]> {
    const rows = await this.db
      .selectFrom('volume_snapshots')
      .selectAll()
      .where('volume_id', '=', volumeId)
      .orderBy('created_at', 'desc')
      .execute();
    return rows.map(toDomain);
  }

  async findByName(volumeId: string, name: string): Promise<SnapshotRow | undefined> {
    const r = await this.db
      .selectFrom('volume_snapshots')
      .selectAll()
      .where('volume_id', '=', volumeId)
      .where('name', '=', name)
      .executeTakeFirst();
    return r && toDomain(r);
  }

  async update(
    id: string,
    p: Partial<Pick<VolumeSnapshotsTable, 'status' | 'message' | 'size_bytes' | 'sha256'>>,
  ): Promise<void> {
    await this.db.updateTable('volume_snapshots').set(p).where('id', '=', id).execute();
  }

  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('volume_snapshots').where('id', '=', id).execute();
  }
}

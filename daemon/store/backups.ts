// Backup schedules, backups and their items. A backup row is written `running` before anything is archived and
// becomes `complete` (with its items, in one transaction) or `failed` with the reason.
import type { Kysely, Selectable } from 'kysely';
import type { Backup, BackupItem, BackupSchedule, BackupTargetKind } from '../../common/snapshots';
import type { BackupItemsTable, BackupSchedulesTable, BackupsTable, Database } from './schema';

export type ScheduleRow = Omit<BackupSchedule, 'next_run_at'> & { owner_id: string };
export type BackupRow = Omit<Backup, 'items'> & {
  owner_id: string;
  items: (Omit<BackupItem, 'kind'> & { object_key: string })[];
};

const schedule = (r: Selectable<BackupSchedulesTable>): ScheduleRow => ({
  ...r,
  target_kind: r.target_kind as BackupTargetKind,
  enabled: r.enabled === 1,
});

export class BackupRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async putSchedule(s: Omit<BackupSchedulesTable, 'last_run_at'>): Promise<ScheduleRow> {
    await this.db
      .insertInto('backup_schedules')
      .values({ ...s, last_run_at: null })
      .onConflict((oc) =>
        oc.columns(['target_kind', 'target_id']).doUpdateSet({
          cron: s.cron,
          timezone: s.timezone,
          keep: s.keep,
          enabled: s.enabled,
        }),
      )
      .execute();
    return (await this.scheduleFor(s.target_kind, s.target_id))!;
  }

  async scheduleFor(kind: string, id: string): Promise<ScheduleRow | undefined> {
    const r = await this.db
      .selectFrom('backup_schedules')
      .selectAll()
      .where('target_kind', '=', kind)
      .where('target_id', '=', id)
      .executeTakeFirst();
    return r && schedule(r);
  }

  async schedule(id: string): Promise<ScheduleRow | undefined> {
    const r = await this.db.selectFrom('backup_schedules').selectAll().where('id', '=', id).executeTakeFirst();
    return r && schedule(r);
  }

  async schedules(ownerId?: string): Promise<ScheduleRow[]> {
    let q = this.db.selectFrom('backup_schedules').selectAll().orderBy('created_at');
    if (ownerId) q = q.where('owner_id', '=', ownerId);
    return (await q.execute()).map(schedule);
  }

  async setLastRun(id: string, at: string): Promise<void> {
    await this.db.updateTable('backup_schedules').set({ last_run_at: at }).where('id', '=', id).execute();
  }

  async deleteSchedule(id: string): Promise<void> {
    await this.db.deleteFrom('backup_schedules').where('id', '=', id).execute();
  }

  async insert(b: Omit<BackupsTable, 'message' | 'finished_at' | 'size_bytes' | 'objects' | 'status'>): Promise<void> {
    await this.db
      .insertInto('backups')
      .values({ ...b, status: 'running', message: null, finished_at: null, size_bytes: 0, objects: 0 })
      .execute();
  }

  /** Items and `complete` together: a backup is never complete with items missing. */
  async complete(id: string, items: BackupItemsTable[], at: string): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      if (items.length) await tx.insertInto('backup_items').values(items).execute();
      const size = items.reduce((n, i) => n + i.size_bytes, 0);
      await tx
        .updateTable('backups')
        .set({ status: 'complete', size_bytes: size, objects: items.length, finished_at: at })
        .where('id', '=', id)
        .execute();
    });
  }

  async fail(id: string, message: string, at: string): Promise<void> {
    await this.db
      .updateTable('backups')
      .set({ status: 'failed', message, finished_at: at })
      .where('id', '=', id)
      .execute();
  }

  async get(id: string): Promise<BackupRow | undefined> {
    const r = await this.db.selectFrom('backups').selectAll().where('id', '=', id).executeTakeFirst();
    return r && (await this.withItems(r));
  }

  /** Newest first. */
  async list(f: { owner_id?: string; target_kind?: string; target_id?: string }): Promise<BackupRow[]> {
    let q = this.db.selectFrom('backups').selectAll().orderBy('started_at', 'desc').orderBy('id');
    if (f.owner_id) q = q.where('owner_id', '=', f.owner_id);
    if (f.target_kind) q = q.where('target_kind', '=', f.target_kind);
    if (f.target_id) q = q.where('target_id', '=', f.target_id);
    return Promise.all((await q.execute()).map((r) => this.withItems(r)));
  }

  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('backups').where('id', '=', id).execute();
  }

  private async withItems(r: Selectable<BackupsTable>): Promise<BackupRow> {
    const items = await this.db.selectFrom('backup_items').selectAll().where('backup_id', '=', r.id).execute();
    return {
      ...r,
      target_kind: r.target_kind as BackupTargetKind,
      trigger: r.trigger as Backup['trigger'],
      status: r.status as Backup['status'],
      items: items.map((i) => ({
        item: i.item,
        volume_id: i.volume_id,
        path: i.path,
        size_bytes: i.size_bytes,
        sha256: i.sha256,
        object_key: i.object_key,
      })),
    };
  }
}

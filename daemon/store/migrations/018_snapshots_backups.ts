import type { Kysely } from 'kysely';

// Snapshots of volumes (a CSI VolumeSnapshot, a copy of a VM data disk, or a Docker volume's tar archive in the
// backup store), backup schedules (per env or volume: a cron in a time zone, keep N) and the backups they made, with
// their items (one archive per home or volume, checksummed). A backup is listed as complete only when every item is.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('volume_snapshots')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('volume_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('backend_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('message', 'text')
    .addColumn('store', 'text')
    .addColumn('object_key', 'text')
    .addColumn('size_bytes', 'integer')
    .addColumn('sha256', 'text')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('volume_snapshots_volume').on('volume_snapshots').column('volume_id').execute();
  await db.schema
    .createTable('backup_schedules')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('target_kind', 'text', (c) => c.notNull())
    .addColumn('target_id', 'text', (c) => c.notNull())
    .addColumn('owner_id', 'text', (c) => c.notNull())
    .addColumn('cron', 'text', (c) => c.notNull())
    .addColumn('timezone', 'text', (c) => c.notNull())
    .addColumn('keep', 'integer', (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull())
    .addColumn('last_run_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('backup_schedules_target')
    .on('backup_schedules')
    .columns(['target_kind', 'target_id'])
    .unique()
    .execute();
  await db.schema
    .createTable('backups')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('target_kind', 'text', (c) => c.notNull())
    .addColumn('target_id', 'text', (c) => c.notNull())
    .addColumn('owner_id', 'text', (c) => c.notNull())
    .addColumn('trigger', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('message', 'text')
    .addColumn('store', 'text', (c) => c.notNull())
    .addColumn('size_bytes', 'integer', (c) => c.notNull())
    .addColumn('objects', 'integer', (c) => c.notNull())
    .addColumn('started_at', 'text', (c) => c.notNull())
    .addColumn('finished_at', 'text')
    .execute();
  await db.schema.createIndex('backups_target').on('backups').columns(['target_kind', 'target_id']).execute();
  await db.schema
    .createTable('backup_items')
    .addColumn('backup_id', 'text', (c) => c.notNull().references('backups.id').onDelete('cascade'))
    .addColumn('item', 'text', (c) => c.notNull())
    .addColumn('volume_id', 'text')
    .addColumn('path', 'text')
    .addColumn('object_key', 'text', (c) => c.notNull())
    .addColumn('size_bytes', 'integer', (c) => c.notNull())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('backup_items_pk', ['backup_id', 'item'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['backup_items', 'backups', 'backup_schedules', 'volume_snapshots'])
    await db.schema.dropTable(t).execute();
}

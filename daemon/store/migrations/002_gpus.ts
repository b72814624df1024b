import { sql, type Kysely } from 'kysely';

// GPU inventory and grants. The partial unique index makes a double grant of a whole GPU or a MIG instance
// impossible even if two allocators raced (SQLite and PostgreSQL both support partial indexes).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('gpus')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('backend_id', 'text', (c) => c.notNull())
    .addColumn('node', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('idx', 'integer')
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('memory_mb', 'integer')
    .addColumn('pci_bus_id', 'text')
    .addColumn('driver', 'text')
    .addColumn('mig_mode', 'text', (c) => c.notNull().defaultTo('n/a'))
    .addColumn('parent_id', 'text')
    .addColumn('profile', 'text')
    .addColumn('utilization', 'integer')
    .addColumn('health', 'text', (c) => c.notNull().defaultTo('ok'))
    .addColumn('health_message', 'text')
    .addColumn('capacity', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('present', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('last_seen', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('gpus_backend').on('gpus').column('backend_id').execute();
  await db.schema
    .createTable('gpu_grants')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('env_id', 'text', (c) => c.notNull().references('environments.id').onDelete('cascade'))
    .addColumn('device_id', 'text', (c) => c.notNull())
    .addColumn('mode', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await sql`create unique index gpu_grants_exclusive on gpu_grants (device_id) where mode in ('exclusive', 'mig', 'vgpu')`.execute(
    db,
  );
  await db.schema.createIndex('gpu_grants_env').on('gpu_grants').column('env_id').execute();
  await db.schema.alterTable('environments').addColumn('gpu_model', 'text').execute();
  await db.schema.alterTable('environments').addColumn('gpu_mig_profile', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('gpu_grants').execute();
  await db.schema.dropTable('gpus').execute();
}

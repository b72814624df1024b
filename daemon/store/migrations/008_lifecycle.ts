import type { Kysely } from 'kysely';

// Lifecycle policies: the env's lifecycle_config (JSON) and the stored facts its deadlines derive from, so they
// survive restarts: when it last started and stopped, its last activity, an extension, and the automatic action
// decided but not yet done (lifecycle_pending, JSON {action, reason, decided_at}: re-checked at the next tick).
const COLUMNS = [
  'lifecycle_config',
  'started_at',
  'stopped_at',
  'last_activity_at',
  'extended_until',
  'lifecycle_pending',
];

export async function up(db: Kysely<any>): Promise<void> {
  for (const c of COLUMNS) await db.schema.alterTable('environments').addColumn(c, 'text').execute();
  // GPU accounting per env and hour, sampled by the policy loop: GPU-seconds held, busy, and reclaimed (not held
  // because the lifecycle stopped the env). Owner and team are copied so the rows outlive the env.
  await db.schema
    .createTable('gpu_usage')
    .addColumn('hour', 'text', (c) => c.notNull())
    .addColumn('env_id', 'text', (c) => c.notNull())
    .addColumn('owner_id', 'text', (c) => c.notNull())
    .addColumn('team', 'text')
    .addColumn('held_s', 'real', (c) => c.notNull().defaultTo(0))
    .addColumn('busy_s', 'real', (c) => c.notNull().defaultTo(0))
    .addColumn('reclaimed_s', 'real', (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('gpu_usage_pk', ['hour', 'env_id'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('gpu_usage').execute();
  for (const c of COLUMNS.reverse()) await db.schema.alterTable('environments').dropColumn(c).execute();
}

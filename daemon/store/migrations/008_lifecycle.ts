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
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const c of COLUMNS.reverse()) await db.schema.alterTable('environments').dropColumn(c).execute();
}

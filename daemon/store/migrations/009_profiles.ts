import type { Kysely } from 'kysely';

// Profiles an admin defines through the API (config-defined ones live in the config file only), and what an env
// keeps of the profile it came from: the name, the options chosen, and a snapshot of the resolved fields + hash.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('profiles')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('definition', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  for (const c of ['profile', 'profile_options', 'profile_snapshot'])
    await db.schema.alterTable('environments').addColumn(c, 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const c of ['profile_snapshot', 'profile_options', 'profile'])
    await db.schema.alterTable('environments').dropColumn(c).execute();
  await db.schema.dropTable('profiles').execute();
}

import { sql, type Kysely } from 'kysely';

// Volumes become owned objects (a user's or a team's; names are per owner and backend; the backend's name is
// derived from the id). `meta` keeps facts about this data dir in the database itself, first the gateway id, so a
// restored database and its gateway.id file can be checked against each other.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('volumes')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('owner_id', 'text', (c) => c.references('users.id'))
    .addColumn('team', 'text')
    .addColumn('backend_id', 'text', (c) => c.notNull())
    .addColumn('size_gb', 'integer')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addCheckConstraint('volumes_one_owner', sql`(owner_id is null) <> (team is null)`)
    .execute();
  await sql`create unique index volumes_user_name on volumes (owner_id, backend_id, name) where owner_id is not null`.execute(
    db,
  );
  await sql`create unique index volumes_team_name on volumes (team, backend_id, name) where team is not null`.execute(
    db,
  );
  await db.schema
    .createTable('meta')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('meta').execute();
  await db.schema.dropTable('volumes').execute();
}

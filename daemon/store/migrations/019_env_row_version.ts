import { sql, type Kysely } from 'kysely';

// Every row of environments carries a version that any UPDATE moves on, whoever makes it (this gateway, another
// one on the same database, an admin's sqlite3): a page of the list reads (id, row_version) and takes the rows it
// has already read at that version from memory. The trigger's own UPDATE does not fire it again (SQLite's
// recursive_triggers is off; the WHEN clause stops it anyway).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('environments')
    .addColumn('row_version', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await sql`create trigger environments_row_version after update on environments
    for each row when new.row_version = old.row_version
    begin update environments set row_version = old.row_version + 1 where id = new.id; end`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger environments_row_version`.execute(db);
  await db.schema.alterTable('environments').dropColumn('row_version').execute();
}

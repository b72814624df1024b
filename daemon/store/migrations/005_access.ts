import type { Kysely } from 'kysely';

// Extra access protocols an image declares in its labels (RStudio, NoMachine, …): JSON [{protocol, port}].
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('environments').addColumn('declared_access', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('environments').dropColumn('declared_access').execute();
}

import type { Kysely } from 'kysely';

// Datasets: a named bucket + prefix on one of the operator's object stores, owned by a user or a team, with a
// catalogue (description, tags, and the size/count of its completed objects as last counted). No credentials here:
// the stores' keys stay in the config's files/variables.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('datasets')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('owner_id', 'text', (c) => c.references('users.id').onDelete('cascade'))
    .addColumn('team', 'text')
    .addColumn('store', 'text', (c) => c.notNull())
    .addColumn('bucket', 'text', (c) => c.notNull())
    .addColumn('prefix', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('tags', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('size_bytes', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('object_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  // One name per owner (user or team); NULLs are distinct in SQLite, so each index covers one kind of owner.
  await db.schema.createIndex('datasets_owner_name').unique().on('datasets').columns(['owner_id', 'name']).execute();
  await db.schema.createIndex('datasets_team_name').unique().on('datasets').columns(['team', 'name']).execute();
  // Two datasets over one place would count (and delete) each other's objects.
  await db.schema
    .createIndex('datasets_location')
    .unique()
    .on('datasets')
    .columns(['store', 'bucket', 'prefix'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('datasets').execute();
}

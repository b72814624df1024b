import type { Kysely } from 'kysely';

// Indexes for the list's stable order (created_at, name, id): keyset pages for everyone, and per owner (a user's
// own list). The GPU allocator's reads by backend and kind use gpus_backend_kind.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('environments_order').on('environments').columns(['created_at', 'name', 'id']).execute();
  await db.schema
    .createIndex('environments_owner_order')
    .on('environments')
    .columns(['owner_id', 'created_at', 'name', 'id'])
    .execute();
  await db.schema.createIndex('gpus_backend_kind').on('gpus').columns(['backend_id', 'kind', 'idx']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const i of ['environments_order', 'environments_owner_order', 'gpus_backend_kind'])
    await db.schema.dropIndex(i).execute();
}

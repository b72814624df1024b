import type { Kysely } from 'kysely';

// Environments registered in JumpServer: the objects made there (asset, hosted account, asset permission), the
// gateway port of the env's SSH endpoint (the asset's address), the hosted account's key pair (sealed). No foreign key
// to environments: a row outlives its env until JumpServer's objects are gone too (reconcile finishes that).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('jumpserver_assets')
    .addColumn('env_id', 'text', (c) => c.primaryKey())
    .addColumn('asset_name', 'text', (c) => c.notNull())
    .addColumn('asset_id', 'text')
    .addColumn('account_id', 'text')
    .addColumn('permission_id', 'text')
    .addColumn('port', 'integer', (c) => c.notNull().unique())
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('private_key_sealed', 'text', (c) => c.notNull())
    .addColumn('active', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('error', 'text')
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('jumpserver_assets').execute();
}

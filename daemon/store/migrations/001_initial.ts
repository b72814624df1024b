import type { Kysely } from 'kysely';

// Column names and defaults of the environments table follow the user's data model (requirements §2.1).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('users')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('role', 'text', (c) => c.notNull().defaultTo('user'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('api_tokens')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('last_used_at', 'text')
    .execute();
  await db.schema
    .createTable('ssh_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('fingerprint', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('environments')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('owner_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('deployment_mode', 'varchar(32)', (c) => c.notNull().defaultTo('k8s_pod'))
    .addColumn('environment_type', 'varchar(32)', (c) => c.notNull().defaultTo('ide'))
    .addColumn('gpu_mode', 'varchar(32)', (c) => c.notNull().defaultTo('exclusive'))
    .addColumn('storage_type', 'varchar(32)', (c) => c.notNull().defaultTo('local'))
    .addColumn('storage_config', 'text')
    .addColumn('lifecycle_policy', 'varchar(32)', (c) => c.notNull().defaultTo('persistent'))
    .addColumn('network_config', 'text')
    .addColumn('use_jumpserver', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('vnc_port', 'integer')
    .addColumn('vnc_password', 'varchar(128)')
    .addColumn('backend_id', 'text', (c) => c.notNull())
    .addColumn('backend_ref', 'text')
    .addColumn('image', 'text', (c) => c.notNull())
    .addColumn('image_pull_policy', 'varchar(32)', (c) => c.notNull().defaultTo('if-not-present'))
    .addColumn('cpu', 'real')
    .addColumn('memory_mb', 'integer')
    .addColumn('gpu_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('gpu_device_ids', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('env_vars', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('ssh_user', 'text', (c) => c.notNull().defaultTo('hangar'))
    .addColumn('host_key', 'text')
    .addColumn('jupyter_token', 'text')
    .addColumn('status', 'varchar(32)', (c) => c.notNull())
    .addColumn('status_message', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('environments_owner_name', ['owner_id', 'name'])
    .execute();
  await db.schema.createIndex('environments_status').on('environments').column('status').execute();
  await db.schema
    .createTable('audit_log')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('at', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text')
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('target', 'text')
    .addColumn('detail', 'text')
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['audit_log', 'environments', 'ssh_keys', 'api_tokens', 'users'])
    await db.schema.dropTable(t).execute();
}

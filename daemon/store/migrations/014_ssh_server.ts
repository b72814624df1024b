import type { Kysely } from 'kysely';

// Which SSH server an env runs (ssh_server): rows made before it existed ran the image's own sshd.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('environments')
    .addColumn('ssh_server', 'text', (c) => c.notNull().defaultTo('image'))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('environments').dropColumn('ssh_server').execute();
}

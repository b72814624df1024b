import { sql, type Kysely } from 'kysely';

// RDP for desktop environments: a port per backend (like vnc_port) and the login password (sealed at rest).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('environments').addColumn('rdp_port', 'integer').execute();
  await db.schema.alterTable('environments').addColumn('rdp_password', 'varchar(256)').execute();
  await sql`create unique index environments_rdp_port on environments (backend_id, rdp_port) where rdp_port is not null`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index environments_rdp_port`.execute(db);
}

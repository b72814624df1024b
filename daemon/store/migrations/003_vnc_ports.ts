import { sql, type Kysely } from 'kysely';

// No two environments on one backend share a VNC port.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create unique index environments_vnc_port on environments (backend_id, vnc_port) where vnc_port is not null`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index environments_vnc_port`.execute(db);
}

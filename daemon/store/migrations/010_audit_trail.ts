import { sql, type Kysely } from 'kysely';

// The audit log becomes a trail a security team accepts: from which client and address, with the result (ok or the
// error code) and the HTTP status. Append-only: triggers refuse UPDATE and DELETE, so no code path can rewrite it.
export async function up(db: Kysely<any>): Promise<void> {
  for (const c of ['client', 'address', 'result'])
    await db.schema.alterTable('audit_log').addColumn(c, 'text').execute();
  await db.schema.alterTable('audit_log').addColumn('status', 'integer').execute();
  await sql`create index audit_log_at on audit_log (at)`.execute(db);
  await sql`create trigger audit_log_no_update before update on audit_log
    begin select raise(abort, 'audit_log is append-only'); end`.execute(db);
  await sql`create trigger audit_log_no_delete before delete on audit_log
    begin select raise(abort, 'audit_log is append-only'); end`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger audit_log_no_delete`.execute(db);
  await sql`drop trigger audit_log_no_update`.execute(db);
  await sql`drop index audit_log_at`.execute(db);
  for (const c of ['status', 'result', 'address', 'client'])
    await db.schema.alterTable('audit_log').dropColumn(c).execute();
}

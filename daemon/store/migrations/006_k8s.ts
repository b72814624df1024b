import type { Kysely } from 'kysely';

// Kubernetes: CronJob schedules and Job commands, env vars from Secrets, users' teams (namespace_policy
// per-team), and GPU units in use that the daemon did not grant (pods the scheduler placed).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('environments').addColumn('schedule', 'text').execute();
  await db.schema.alterTable('environments').addColumn('command', 'text').execute();
  await db.schema
    .alterTable('environments')
    .addColumn('env_secrets', 'text', (c) => c.notNull().defaultTo('{}'))
    .execute();
  await db.schema.alterTable('users').addColumn('team', 'text').execute();
  await db.schema
    .alterTable('gpus')
    .addColumn('used', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('gpus').dropColumn('used').execute();
  await db.schema.alterTable('users').dropColumn('team').execute();
  for (const c of ['env_secrets', 'command', 'schedule'])
    await db.schema.alterTable('environments').dropColumn(c).execute();
}

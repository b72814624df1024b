import type { Kysely } from 'kysely';

// Desktop envs in JumpServer: the gateway ports of their RDP and VNC endpoints (beside the SSH endpoint's `port`),
// the asset's rdp/vnc protocols. Null: the env serves no such protocol. Ports are unique across all three columns
// (the service allocates them one registration at a time).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('jumpserver_assets').addColumn('rdp_port', 'integer').execute();
  await db.schema.alterTable('jumpserver_assets').addColumn('vnc_port', 'integer').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('jumpserver_assets').dropColumn('vnc_port').execute();
  await db.schema.alterTable('jumpserver_assets').dropColumn('rdp_port').execute();
}

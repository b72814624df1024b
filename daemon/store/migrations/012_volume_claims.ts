import type { Kysely } from 'kysely';

// Volumes on Kubernetes are claims: what was asked for them (a StorageClass, or the backend's mapped Ceph class by
// kind, and access modes) is kept with the row. JSON text for access_modes; all null for Docker and libvirt volumes.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('volumes').addColumn('storage_class', 'text').execute();
  await db.schema.alterTable('volumes').addColumn('access_modes', 'text').execute();
  await db.schema.alterTable('volumes').addColumn('ceph', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('volumes').dropColumn('ceph').execute();
  await db.schema.alterTable('volumes').dropColumn('access_modes').execute();
  await db.schema.alterTable('volumes').dropColumn('storage_class').execute();
}

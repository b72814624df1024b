import type { Kysely, Selectable } from 'kysely';
import type { GpuDevice, GpuGrant } from '../contract';
import type { Database, GpusTable } from './schema';

const toDevice = (r: Selectable<GpusTable>): GpuDevice => ({
  id: r.id,
  backend_id: r.backend_id,
  node: r.node,
  kind: r.kind as GpuDevice['kind'],
  index: r.idx,
  model: r.model,
  memory_mb: r.memory_mb,
  pci_bus_id: r.pci_bus_id,
  driver: r.driver,
  mig_mode: r.mig_mode as GpuDevice['mig_mode'],
  parent_id: r.parent_id,
  profile: r.profile,
  utilization: r.utilization,
  health: r.health as GpuDevice['health'],
  health_message: r.health_message,
  capacity: r.capacity,
  used: r.used,
  present: Boolean(r.present),
  last_seen: r.last_seen,
});

/** Works on the database or inside a transaction (pass the transaction as `db`). */
export class GpuRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async devices(backendId?: string): Promise<GpuDevice[]> {
    let q = this.db.selectFrom('gpus').selectAll();
    if (backendId) q = q.where('backend_id', '=', backendId);
    return (await q.orderBy('backend_id').orderBy('node').orderBy('idx').orderBy('id').execute()).map(toDevice);
  }

  /** Replaces what a backend reports: seen devices are upserted, unseen ones kept but marked absent. */
  async sync(backendId: string, seen: GpuDevice[], absentMessage: string | null): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      for (const d of seen) {
        const row = {
          backend_id: d.backend_id,
          node: d.node,
          kind: d.kind,
          idx: d.index,
          model: d.model,
          memory_mb: d.memory_mb,
          pci_bus_id: d.pci_bus_id,
          driver: d.driver,
          mig_mode: d.mig_mode,
          parent_id: d.parent_id,
          profile: d.profile,
          utilization: d.utilization,
          health: d.health,
          health_message: d.health_message,
          capacity: d.capacity,
          used: d.used ?? 0,
          present: 1,
          last_seen: d.last_seen,
        };
        await trx
          .insertInto('gpus')
          .values({ id: d.id, ...row })
          .onConflict((oc) => oc.column('id').doUpdateSet(row))
          .execute();
      }
      let q = trx
        .updateTable('gpus')
        .set({ present: 0, health_message: absentMessage ?? 'no longer reported by the host' })
        .where('backend_id', '=', backendId);
      if (seen.length)
        q = q.where(
          'id',
          'not in',
          seen.map((d) => d.id),
        );
      await q.execute();
    });
  }

  async grants(backendId?: string): Promise<GpuGrant[]> {
    let q = this.db
      .selectFrom('gpu_grants')
      .innerJoin('gpus', 'gpus.id', 'gpu_grants.device_id')
      .select([
        'gpu_grants.id',
        'gpu_grants.env_id',
        'gpu_grants.device_id',
        'gpu_grants.mode',
        'gpu_grants.created_at',
      ]);
    if (backendId) q = q.where('gpus.backend_id', '=', backendId);
    return (await q.execute()) as GpuGrant[];
  }

  async grantsWithHolders() {
    return this.db
      .selectFrom('gpu_grants')
      .innerJoin('environments', 'environments.id', 'gpu_grants.env_id')
      .select([
        'gpu_grants.device_id',
        'gpu_grants.env_id',
        'gpu_grants.mode',
        'environments.name as env_name',
        'environments.owner_id',
      ])
      .execute();
  }

  async envGrants(envId: string): Promise<GpuGrant[]> {
    return (await this.db.selectFrom('gpu_grants').selectAll().where('env_id', '=', envId).execute()) as GpuGrant[];
  }

  async insertGrants(grants: GpuGrant[]): Promise<void> {
    if (grants.length) await this.db.insertInto('gpu_grants').values(grants).execute();
  }

  async release(envId: string): Promise<number> {
    const r = await this.db.deleteFrom('gpu_grants').where('env_id', '=', envId).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}

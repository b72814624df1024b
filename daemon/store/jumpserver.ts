// Registrations of environments in JumpServer (migrations 011, 015).
import type { Kysely, Selectable, Updateable } from 'kysely';
import type { Database, JumpServerAssetsTable } from './schema';

export type JmsRow = Selectable<JumpServerAssetsTable>;

export class JumpServerRepo {
  constructor(private readonly db: Kysely<Database>) {}

  get(envId: string): Promise<JmsRow | undefined> {
    return this.db.selectFrom('jumpserver_assets').selectAll().where('env_id', '=', envId).executeTakeFirst();
  }
  all(): Promise<JmsRow[]> {
    return this.db.selectFrom('jumpserver_assets').selectAll().orderBy('env_id').execute();
  }
  async insert(r: Omit<JmsRow, 'updated_at'>): Promise<void> {
    await this.db
      .insertInto('jumpserver_assets')
      .values({ ...r, updated_at: new Date().toISOString() })
      .execute();
  }
  async update(envId: string, patch: Updateable<JumpServerAssetsTable>): Promise<void> {
    await this.db
      .updateTable('jumpserver_assets')
      .set({ ...patch, updated_at: new Date().toISOString() })
      .where('env_id', '=', envId)
      .execute();
  }
  async delete(envId: string): Promise<void> {
    await this.db.deleteFrom('jumpserver_assets').where('env_id', '=', envId).execute();
  }
  async usedPorts(): Promise<Set<number>> {
    const rows = await this.db.selectFrom('jumpserver_assets').select(['port', 'rdp_port', 'vnc_port']).execute();
    return new Set(rows.flatMap((r) => [r.port, r.rdp_port, r.vnc_port]).filter((p): p is number => p !== null));
  }
}

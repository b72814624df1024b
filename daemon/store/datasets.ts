// Datasets' rows: where each lives (store, bucket, prefix), its owner and its catalogue.
import type { OwnedBy } from './owners';
import type { Kysely, Selectable } from 'kysely';
import type { Dataset } from '../../common/model';
import type { Database, DatasetsTable } from './schema';

export type DatasetRow = Omit<Dataset, 'mounted_by'>;
export type DatasetOwner = OwnedBy;

const toDomain = (r: Selectable<DatasetsTable>): DatasetRow => ({ ...r, tags: JSON.parse(r.tags) as string[] });

export class DatasetRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async get(id: string): Promise<DatasetRow | undefined> {
    const r = await this.db.selectFrom('datasets').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toDomain(r);
  }

  async find(owner: DatasetOwner, name: string): Promise<DatasetRow | undefined> {
    let q = this.db.selectFrom('datasets').selectAll().where('name', '=', name);
    q = owner.owner_id ? q.where('owner_id', '=', owner.owner_id) : q.where('team', '=', owner.team!);
    const r = await q.executeTakeFirst();
    return r && toDomain(r);
  }

  /** A user's own and their team's; all when no owner is given (admin). */
  async list(f: { owner_id?: string; team?: string | null } = {}): Promise<DatasetRow[]> {
    let q = this.db.selectFrom('datasets').selectAll();
    if (f.owner_id)
      q = q.where((eb) => eb.or([eb('owner_id', '=', f.owner_id!), ...(f.team ? [eb('team', '=', f.team)] : [])]));
    return (await q.orderBy('name').orderBy('created_at').execute()).map(toDomain);
  }

  async insert(
    d: {
      id: string;
      name: string;
      store: string;
      bucket: string;
      prefix: string;
      description: string;
      tags: string[];
    } & DatasetOwner,
  ): Promise<DatasetRow> {
    const now = new Date().toISOString();
    await this.db
      .insertInto('datasets')
      .values({
        id: d.id,
        name: d.name,
        owner_id: d.owner_id ?? null,
        team: d.team ?? null,
        store: d.store,
        bucket: d.bucket,
        prefix: d.prefix,
        description: d.description,
        tags: JSON.stringify(d.tags),
        size_bytes: 0,
        object_count: 0,
        created_at: now,
        updated_at: now,
      })
      .execute();
    return (await this.get(d.id))!;
  }

  async update(
    id: string,
    p: { description?: string; tags?: string[]; size_bytes?: number; object_count?: number },
  ): Promise<void> {
    await this.db
      .updateTable('datasets')
      .set({
        ...(p.description !== undefined ? { description: p.description } : {}),
        ...(p.tags !== undefined ? { tags: JSON.stringify(p.tags) } : {}),
        ...(p.size_bytes !== undefined ? { size_bytes: p.size_bytes } : {}),
        ...(p.object_count !== undefined ? { object_count: p.object_count } : {}),
        updated_at: new Date().toISOString(),
      })
      .where('id', '=', id)
      .execute();
  }

  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('datasets').where('id', '=', id).execute();
  }
}

/** The envs whose stored mounts name dataset `id` (any status). */
export async function datasetMountedBy(db: Kysely<Database>, id: string): Promise<{ id: string; name: string }[]> {
  const rows = await db
    .selectFrom('environments')
    .select(['id', 'name', 'storage_config'])
    .where('storage_config', 'like', `%${id}%`)
    .orderBy('name')
    .execute();
  return rows
    .filter((r) =>
      ((JSON.parse(r.storage_config ?? '{}') as { mounts?: { dataset_id?: string }[] }).mounts ?? []).some(
        (m) => m.dataset_id === id,
      ),
    )
    .map((r) => ({ id: r.id, name: r.name }));
}

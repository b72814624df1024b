import type { Kysely, Selectable } from 'kysely';
import type { OwnedBy } from './owners';
import type { Volume } from '../../common/model';
import type { Database, VolumesTable } from './schema';

/** The backend's name for a volume: from its id only, so no input reaches a host as a name. */
export const backendVolumeName = (id: string) => `hangar-vol-${id}`;

const toDomain = (r: Selectable<VolumesTable>): Volume => ({
  ...r,
  storage_class: r.storage_class ?? null,
  access_modes: r.access_modes ? (JSON.parse(r.access_modes) as Volume['access_modes']) : null,
  ceph: (r.ceph as Volume['ceph']) ?? null,
  backend_name: backendVolumeName(r.id),
});

/** What a new volume's row holds. */
export type NewVolume = {
  id: string;
  name: string;
  backend_id: string;
  size_gb: number | null;
  storage_class?: string | null;
  access_modes?: string[] | null;
  ceph?: string | null;
} & VolumeOwner;

export type VolumeOwner = OwnedBy;

export class VolumeRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async get(id: string): Promise<Volume | undefined> {
    const r = await this.db.selectFrom('volumes').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toDomain(r);
  }

  async find(owner: VolumeOwner, backendId: string, name: string): Promise<Volume | undefined> {
    let q = this.db.selectFrom('volumes').selectAll().where('backend_id', '=', backendId).where('name', '=', name);
    q = owner.owner_id ? q.where('owner_id', '=', owner.owner_id) : q.where('team', '=', owner.team!);
    const r = await q.executeTakeFirst();
    return r && toDomain(r);
  }

  async insert(v: NewVolume): Promise<Volume> {
    await this.db
      .insertInto('volumes')
      .values({
        id: v.id,
        name: v.name,
        owner_id: v.owner_id ?? null,
        team: v.team ?? null,
        backend_id: v.backend_id,
        size_gb: v.size_gb,
        storage_class: v.storage_class ?? null,
        access_modes: v.access_modes?.length ? JSON.stringify(v.access_modes) : null,
        ceph: v.ceph ?? null,
        created_at: new Date().toISOString(),
      })
      .execute();
    return (await this.get(v.id))!;
  }

  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('volumes').where('id', '=', id).execute();
  }

  async setSize(id: string, sizeGb: number): Promise<void> {
    await this.db.updateTable('volumes').set({ size_gb: sizeGb }).where('id', '=', id).execute();
  }

  /** A user's own volumes and their team's; all of them when no user is given (admin). */
  async list(f: { owner_id?: string; team?: string | null } = {}): Promise<Volume[]> {
    let q = this.db.selectFrom('volumes').selectAll();
    if (f.owner_id)
      q = q.where((eb) => eb.or([eb('owner_id', '=', f.owner_id!), ...(f.team ? [eb('team', '=', f.team)] : [])]));
    return (await q.orderBy('created_at').orderBy('name').execute()).map(toDomain);
  }
}

/** The envs whose stored mounts name volume `id` (any status: a stopped env keeps its mounts). */
export async function mountedBy(db: Kysely<Database>, id: string): Promise<{ id: string; name: string }[]> {
  const rows = await db
    .selectFrom('environments')
    .select(['id', 'name', 'storage_config'])
    .where('storage_config', 'like', `%${id}%`)
    .orderBy('name')
    .execute();
  return rows
    .filter((r) => {
      const mounts = (JSON.parse(r.storage_config ?? '{}') as { mounts?: { volume_id?: string }[] }).mounts ?? [];
      return mounts.some((m) => m.volume_id === id);
    })
    .map((r) => ({ id: r.id, name: r.name }));
}

/** Count and total size of what one owner (a user, or a team) has. */
export async function usageOf(db: Kysely<Database>, owner: VolumeOwner): Promise<{ count: number; total_gb: number }> {
  let q = db
    .selectFrom('volumes')
    .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.sum<number>('size_gb').as('gb')]);
  q = owner.owner_id ? q.where('owner_id', '=', owner.owner_id) : q.where('team', '=', owner.team!);
  const r = await q.executeTakeFirstOrThrow();
  return { count: Number(r.n), total_gb: Number(r.gb ?? 0) };
}

/** Key/value facts about this data dir kept in the database (the gateway id). */
export class MetaRepo {
  constructor(private readonly db: Kysely<Database>) {}
  async get(key: string): Promise<string | undefined> {
    return (await this.db.selectFrom('meta').select('value').where('key', '=', key).executeTakeFirst())?.value;
  }
  async set(key: string, value: string): Promise<void> {
    await this.db
      .insertInto('meta')
      .values({ key, value })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
      .execute();
  }
}

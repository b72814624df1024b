// API-defined profiles (JSON definitions), what an env keeps of its profile, and what a team's envs hold (quotas).
import type { Kysely } from 'kysely';
import type { Profile } from '../../common/profiles';
import type { Database } from './schema';

export interface EnvProfileRecord {
  profile: string;
  options: Record<string, unknown>;
  snapshot: { hash: string; fields: Record<string, unknown> };
}

/** Statuses in which an env holds its resources (a stopped or failed one holds none). */
const ACTIVE = ['creating', 'starting', 'running', 'pending', 'stopping'];

export class ProfileRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async list(): Promise<{ profile: Profile; created_at: string; updated_at: string }[]> {
    const rows = await this.db.selectFrom('profiles').selectAll().orderBy('name').execute();
    return rows.map((r) => ({ profile: JSON.parse(r.definition), created_at: r.created_at, updated_at: r.updated_at }));
  }
  async get(name: string): Promise<Profile | undefined> {
    const r = await this.db.selectFrom('profiles').selectAll().where('name', '=', name).executeTakeFirst();
    return r && JSON.parse(r.definition);
  }
  /** Insert or replace; `created` false when it replaced one. */
  async put(p: Profile): Promise<boolean> {
    const now = new Date().toISOString();
    const existed = Boolean(await this.get(p.name));
    await this.db
      .insertInto('profiles')
      .values({ name: p.name, definition: JSON.stringify(p), created_at: now, updated_at: now })
      .onConflict((oc) => oc.column('name').doUpdateSet({ definition: JSON.stringify(p), updated_at: now }))
      .execute();
    return !existed;
  }
  async delete(name: string): Promise<boolean> {
    const r = await this.db.deleteFrom('profiles').where('name', '=', name).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async setEnvProfile(envId: string, rec: EnvProfileRecord, db: Kysely<Database> = this.db): Promise<void> {
    await db
      .updateTable('environments')
      .set({
        profile: rec.profile,
        profile_options: JSON.stringify(rec.options),
        profile_snapshot: JSON.stringify(rec.snapshot),
      })
      .where('id', '=', envId)
      .execute();
  }
  async envProfile(envId: string): Promise<EnvProfileRecord | undefined> {
    const r = await this.db
      .selectFrom('environments')
      .select(['profile', 'profile_options', 'profile_snapshot'])
      .where('id', '=', envId)
      .executeTakeFirst();
    if (!r?.profile) return undefined;
    return {
      profile: r.profile,
      options: JSON.parse(r.profile_options ?? '{}'),
      snapshot: JSON.parse(r.profile_snapshot ?? '{"hash":"","fields":{}}'),
    };
  }

  async teamOf(userId: string): Promise<string | null> {
    const r = await this.db.selectFrom('users').select('team').where('id', '=', userId).executeTakeFirst();
    return r?.team ?? null;
  }

  /** What the envs of a team's users hold: resources of active ones (but `except`), and how many envs there are. */
  async teamUsage(team: string, except?: string) {
    let q = this.db
      .selectFrom('environments')
      .innerJoin('users', 'users.id', 'environments.owner_id')
      .select([
        'environments.id',
        'environments.status',
        'environments.gpu_count',
        'environments.cpu',
        'environments.memory_mb',
      ])
      .where('users.team', '=', team)
      .where('environments.status', '!=', 'deleting');
    if (except) q = q.where('environments.id', '!=', except);
    const rows = await q.execute();
    const active = rows.filter((r) => ACTIVE.includes(r.status));
    const sum = (f: (r: (typeof rows)[number]) => number | null) => active.reduce((n, r) => n + (f(r) ?? 0), 0);
    return {
      gpus: sum((r) => r.gpu_count),
      cpu: sum((r) => r.cpu),
      memory_mb: sum((r) => r.memory_mb),
      environments: rows.length + (except ? 1 : 0),
    };
  }
}

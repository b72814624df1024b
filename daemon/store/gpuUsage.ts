// GPU accounting rows (per env and hour): added to by the policy loop, summed by GET /gpus/usage.
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema';

export interface UsageSample {
  env_id: string;
  owner_id: string;
  team: string | null;
  held_s: number;
  busy_s: number;
  reclaimed_s: number;
}

export interface UsageTotal {
  key: string | null;
  held_s: number;
  busy_s: number;
  reclaimed_s: number;
}

export class GpuUsageRepo {
  constructor(private readonly db: Kysely<Database>) {}

  /** Adds samples to their env's row for the hour `at` falls in. */
  async add(at: number, samples: UsageSample[]): Promise<void> {
    const hour = new Date(Math.floor(at / 3_600_000) * 3_600_000).toISOString();
    for (const s of samples)
      await this.db
        .insertInto('gpu_usage')
        .values({ hour, ...s })
        .onConflict((oc) =>
          oc.columns(['hour', 'env_id']).doUpdateSet({
            held_s: sql`held_s + ${s.held_s}`,
            busy_s: sql`busy_s + ${s.busy_s}`,
            reclaimed_s: sql`reclaimed_s + ${s.reclaimed_s}`,
          }),
        )
        .execute();
  }

  /** Sums per owner or team over the hours in [from, to); `ownerId` limits it to one user's rows. */
  async totals(o: { from: string; to: string; by: 'user' | 'team'; ownerId?: string }): Promise<UsageTotal[]> {
    const key = o.by === 'user' ? 'owner_id' : 'team';
    let q = this.db
      .selectFrom('gpu_usage')
      .select([
        `${key} as key` as any,
        sql<number>`sum(held_s)`.as('held_s'),
        sql<number>`sum(busy_s)`.as('busy_s'),
        sql<number>`sum(reclaimed_s)`.as('reclaimed_s'),
      ])
      .where('hour', '>=', o.from)
      .where('hour', '<', o.to)
      .groupBy(key);
    if (o.ownerId) q = q.where('owner_id', '=', o.ownerId);
    return (await q.execute()) as UsageTotal[];
  }
}

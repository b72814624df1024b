// Readiness (/readyz): the store takes writes, and each backend answers. /healthz stays plain liveness.
import { sql, type Kysely } from 'kysely';
import type { Backends } from '../contract';
import type { Database } from '../store/schema';

export interface Readiness {
  ready: boolean;
  store: { writable: boolean; error?: string };
  backends: { id: string; kind: string; available: boolean }[];
}

/** A write that is always rolled back: it needs the write lock and a writable database file. */
async function storeWritable(db: Kysely<Database>): Promise<{ writable: boolean; error?: string }> {
  try {
    await db.transaction().execute(async (tx) => {
      await sql`CREATE TEMP TABLE IF NOT EXISTS readyz_probe (x INTEGER)`.execute(tx);
      await sql`UPDATE users SET name = name WHERE id = (SELECT id FROM users LIMIT 1)`.execute(tx);
      throw new RollBack();
    });
    return { writable: true };
  } catch (err) {
    if (err instanceof RollBack) return { writable: true };
    // No path or SQL text: the error's class is enough for a public probe.
    return { writable: false, error: (err as { code?: string }).code ?? 'store error' };
  }
}
class RollBack extends Error {}

export async function readiness(db: Kysely<Database>, drivers: Backends): Promise<Readiness> {
  const [store, backends] = await Promise.all([
    storeWritable(db),
    Promise.all(
      drivers.all().map(async (d) => ({
        id: d.id,
        kind: d.kind,
        available: await d.info().then(
          (i) => i.available,
          () => false,
        ),
      })),
    ),
  ]);
  return { ready: store.writable, store, backends };
}

// This gateway's id labels every object it makes on a backend. It lives in the data dir's gateway.id file and in the
// database (meta table): a lost file comes back from the database, and a database restored with another data dir's
// id is a clear start-up error instead of every environment turning 'missing'.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema';
import { MetaRepo } from '../store/volumes';

export class GatewayIdMismatchError extends Error {}

export async function resolveGatewayId(dataDir: string, db: Kysely<Database>): Promise<string> {
  const file = path.join(dataDir, 'gateway.id');
  const meta = new MetaRepo(db);
  let fromFile: string | undefined;
  try {
    fromFile = fs.readFileSync(file, 'utf8').trim() || undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const fromDb = await meta.get('gateway_id');
  if (fromFile && fromDb && fromFile !== fromDb) {
    throw new GatewayIdMismatchError(
      `gateway id mismatch: ${file} says '${fromFile}' but the database says '${fromDb}': they come from different data dirs ` +
        '(a database restored without its gateway.id, or the other way round). Restore both from one backup (hangard restore), or put back the gateway.id that belongs to this database.',
    );
  }
  if (fromFile && !fromDb) {
    await meta.set('gateway_id', fromFile);
    return fromFile;
  }
  if (fromDb) {
    if (!fromFile) fs.writeFileSync(file, fromDb + '\n', { mode: 0o600 });
    return fromDb;
  }
  // Neither: a new data dir, unless the database already holds environments (made under an id now lost).
  const n = Number(
    (
      await db
        .selectFrom('environments')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );
  if (n > 0) {
    throw new GatewayIdMismatchError(
      `${file} is missing and the database holds ${n} environments but no gateway id: a new id would disown their backend objects. Put back the gateway.id of this data dir.`,
    );
  }
  const id = crypto.randomBytes(6).toString('hex');
  await meta.set('gateway_id', id);
  fs.writeFileSync(file, id + '\n', { mode: 0o600 });
  return id;
}

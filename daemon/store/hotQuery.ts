// Queries on a per-request path (every API call's token lookup, every proxied Jupyter request) built and compiled
// by Kysely once: building and compiling one costs more than SQLite answering it. Later calls change only the
// bound parameters (never spliced into the SQL); the connection's kept statements (db.ts) do the rest.
import type { CompiledQuery, Compilable, Kysely } from 'kysely';
import type { Database } from './schema';

/** `build` gets placeholder values and must bind exactly the parameters given later, in the same order. */
export function hotQuery<R, P extends unknown[]>(
  db: Kysely<Database>,
  build: (db: Kysely<Database>, ...params: P) => Compilable<R>,
  placeholders: P,
): (...params: P) => Promise<R | undefined> {
  let compiled: CompiledQuery<R> | undefined;
  return async (...params) => {
    compiled ??= build(db, ...placeholders).compile();
    if (compiled.parameters.length !== params.length)
      throw new Error(`hot query binds ${compiled.parameters.length} parameters, given ${params.length}`);
    const { rows } = await db.executeQuery<R>({ ...compiled, parameters: params });
    return rows[0];
  };
}

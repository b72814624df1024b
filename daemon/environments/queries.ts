// Owner-scoped reads: admins see everything; another user's env is "not found" (404), never "forbidden".
import type { Environment, User } from '../../common/model';
import { InputError, NotFoundError } from '../errors';
import type { EnvFilter, EnvironmentRepo, LifecycleTimes, ListAfter } from '../store/environments';
import type { JupyterAccess } from '../store/jupyterTokens';

export function listFor(repo: EnvironmentRepo, actor: User, f: EnvFilter): Promise<Environment[]> {
  return repo.list({ ...f, owner_id: actor.role === 'admin' ? f.owner_id : actor.id });
}

/** By id or by name. */
export async function getFor(repo: EnvironmentRepo, actor: User, idOrName: string): Promise<Environment> {
  const env = (await repo.get(idOrName)) ?? (await repo.findByName(actor.id, idOrName));
  if (!env || (env.owner_id !== actor.id && actor.role !== 'admin')) throw new NotFoundError('environment', idOrName);
  return env;
}

/** The same, as the Jupyter proxy reads it on every request (one narrow query by id; names are looked up). */
export async function jupyterFor(repo: EnvironmentRepo, actor: User, idOrName: string): Promise<JupyterAccess> {
  const env =
    (await repo.jupyter.access(idOrName)) ?? (await repo.jupyter.access((await getFor(repo, actor, idOrName)).id));
  if (!env || (env.owner_id !== actor.id && actor.role !== 'admin')) throw new NotFoundError('environment', idOrName);
  return env;
}

/** One page of the list and the cursor of the next (null: this was the last). */
export interface EnvPage {
  envs: Environment[];
  next_cursor: string | null;
  /** The rows' lifecycle times, read with them. */
  times: ReadonlyMap<string, LifecycleTimes>;
}

/** The cursor is the last row's sort key (base64url JSON): opaque to clients, stable under inserts and deletes. */
function encodeCursor(e: Environment): string {
  return Buffer.from(JSON.stringify([e.created_at, e.name, e.id])).toString('base64url');
}

function decodeCursor(cursor: string): ListAfter {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'string'))
      return { created_at: v[0], name: v[1], id: v[2] };
  } catch {
    /* refused below */
  }
  throw new InputError('cursor', 'cursor: must be the X-Next-Cursor of a previous page');
}

/** A page of `limit` (one more is read to know whether another page follows). */
export async function pageFor(
  repo: EnvironmentRepo,
  actor: User,
  f: EnvFilter & { limit: number; cursor?: string },
): Promise<EnvPage> {
  const { limit, cursor, ...filter } = f;
  const { envs: rows, times } = await repo.page({
    ...filter,
    owner_id: actor.role === 'admin' ? filter.owner_id : actor.id,
    limit: limit + 1,
    after: cursor ? decodeCursor(cursor) : undefined,
  });
  const envs = rows.slice(0, limit);
  return { envs, times, next_cursor: rows.length > limit ? encodeCursor(envs[envs.length - 1]) : null };
}

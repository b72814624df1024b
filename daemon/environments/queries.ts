// Owner-scoped reads: admins see everything; another user's env is "not found" (404), never "forbidden".
import type { Environment, User } from '../../common/model';
import { NotFoundError } from '../errors';
import type { EnvFilter, EnvironmentRepo } from '../store/environments';

export function listFor(repo: EnvironmentRepo, actor: User, f: EnvFilter): Promise<Environment[]> {
  return repo.list({ ...f, owner_id: actor.role === 'admin' ? f.owner_id : actor.id });
}

/** By id or by name. */
export async function getFor(repo: EnvironmentRepo, actor: User, idOrName: string): Promise<Environment> {
  const env = (await repo.get(idOrName)) ?? (await repo.findByName(actor.id, idOrName));
  if (!env || (env.owner_id !== actor.id && actor.role !== 'admin')) throw new NotFoundError('environment', idOrName);
  return env;
}

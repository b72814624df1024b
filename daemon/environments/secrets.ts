// Secrets that live inside an env: rotated (written in, the env restarted with them) and keys pushed after a change.
import type { Environment } from '../../common/model';
import { AUTHORIZED_KEYS_PATH } from '../contract';
import type { Logger } from '../log';
import { vncPassword } from '../secretBox';
import type { SshKeyService } from '../services/keys';
import type { EnvironmentRepo } from '../store/environments';
import type { Backends } from '../contract';
import { secretFile } from './bootFiles';
import { withKey } from './spec';
import { newJupyterToken, newRdpPassword } from './create';

export type RotatableSecret = 'jupyter_token' | 'vnc_password' | 'rdp_password';

/** A new value stored and, when the env has its object, written into it. Returns whether a restart is due. */
export async function rotate(
  d: { repo: EnvironmentRepo; backends: Backends },
  env: Environment,
  secret: RotatableSecret,
): Promise<boolean> {
  const value =
    secret === 'jupyter_token' ? newJupyterToken() : secret === 'vnc_password' ? vncPassword() : newRdpPassword();
  await d.repo.update(env.id, { [secret]: value });
  if (!env.backend_ref) return false;
  await d.backends.get(env.backend_id).writeFiles(env.backend_ref, [secretFile(secret, value)]);
  return env.status === 'running';
}

/** A user's keys changed: their live envs get the new authorized_keys (others at their next start), keeping each
 *  env's own key (JumpServer's hosted account: dropping it would lock KoKo out until the next start). */
export async function pushAuthorizedKeys(
  d: {
    repo: EnvironmentRepo;
    backends: Backends;
    keys: SshKeyService;
    log: Logger;
    envKeys?: (envId: string) => Promise<string | undefined>;
  },
  userId: string,
): Promise<void> {
  const keys = await d.keys.authorizedKeys(userId);
  for (const env of await d.repo.list({ owner_id: userId })) {
    if (!env.backend_ref) continue;
    const content = withKey(keys, await d.envKeys?.(env.id));
    await d.backends
      .get(env.backend_id)
      .writeFiles(env.backend_ref, [{ path: AUTHORIZED_KEYS_PATH, content, mode: 0o644, role: 'authorized_keys' }])
      .catch((err) =>
        d.log.warn({ env: env.id, err: String(err) }, 'authorized_keys not updated; it will be at next start'),
      );
  }
}

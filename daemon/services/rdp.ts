// An env's RDP login as one answer, whichever way it goes: through JumpServer for registered use_jumpserver desktops
// (a fresh RDP connection token and the .rdp file JumpServer issues for it), else straight to xrdp on the port the
// backend publishes (the gateway's own .rdp file; also when JumpServer is down and not required). The extension's
// "Open RDP" and `hangar rdp` use it.
import type { RdpLogin, User } from '../../common/model';
import type { EnvironmentService } from '../environments/service';
import { BackendUnavailableError, ConflictError } from '../errors';
import type { JumpServerService } from './jumpserver';
import { jumpServerRdp } from './jumpserverAccess';

export async function rdpLogin(
  envs: EnvironmentService,
  js: JumpServerService | undefined,
  actor: User,
  idOrName: string,
): Promise<RdpLogin> {
  const env = await envs.get(actor, idOrName);
  const c = await envs.connection(actor, env.id);
  if (js && c.jumpserver?.rdp) {
    try {
      return await jumpServerRdp(js, actor, env);
    } catch (err) {
      // JumpServer down and not required: the env still works directly (the policy allows it).
      if (!(err instanceof BackendUnavailableError) || c.direct_refused || !c.rdp) throw err;
    }
  }
  if (c.direct_refused)
    throw new ConflictError(
      `environment '${env.name}' is reached through JumpServer only and is not registered there with RDP yet`,
    );
  if (!c.rdp)
    throw new ConflictError(`environment '${env.name}' offers no RDP (desktop environments whose image has xrdp do)`);
  const { rdp_file, host, port, user, password } = c.rdp;
  return { via: 'direct', filename: `${env.name}.rdp`, rdp_file, host, port, user, password };
}

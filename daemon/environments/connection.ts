// How a client reaches an env: SSH through the gateway's tunnel, Jupyter, declared protocols, RDP, VNC, exposure.
import type { ConnectionInfo, Environment } from '../../common/model';
import { sshAlias } from '../../common/names';
import { capability, JUPYTER_PORT, jupyterPath, SSH_PORT, VNC_PORT, type Backends } from '../contract';
import type { EnvironmentRepo } from '../store/environments';

/** A .rdp file for Microsoft's and FreeRDP's clients (the password is never written into it). */
export function rdpFile(o: { host: string; port: number; user: string; name: string }): string {
  return [
    `full address:s:${o.host}:${o.port}`,
    `username:s:${o.user}`,
    'prompt for credentials:i:1',
    'authentication level:i:0',
    'screen mode id:i:1',
    'desktopwidth:i:1280',
    'desktopheight:i:800',
    'session bpp:i:24',
    'redirectclipboard:i:1',
    `alternate shell:s:`,
    `title:s:Hangar ${o.name}`,
    '',
  ].join('\r\n');
}

export interface ConnectionDeps {
  repo: EnvironmentRepo;
  backends: Backends;
  /** URL clients reach this gateway at (known once the listener is bound). */
  publicUrl: () => string;
  /** Address a backend publishes ports on (what RDP/VNC clients connect to on that host). */
  publishAddress?: (backendId: string) => string;
  /** The KoKo route of use_jumpserver envs (services/jumpserver.ts). */
  jumpserverRoute?: (env: Environment) => Promise<ConnectionInfo['jumpserver']>;
  /** The gateway's own routes are refused for this env (jumpserver.required). */
  directRefused?: (env: Environment) => boolean;
}

const REFUSED = {
  rule: 'jumpserver.required',
  reason:
    'this gateway reaches use_jumpserver environments only through JumpServer (jumpserver.required): its tunnel, ' +
    'Jupyter proxy and desktop bridges refuse this env; connect through JumpServer (KoKo, the .rdp file, Luna)',
};

const tunnelPath = (envId: string, port: number) => `/api/v1/environments/${envId}/tunnel?port=${port}`;

export async function connectionInfo(d: ConnectionDeps, env: Environment): Promise<ConnectionInfo> {
  const info = await everyRoute(d, env);
  if (!d.directRefused?.(env)) return info;
  // Only what works: the direct routes are refused, so they are not offered (the alias goes to KoKo).
  const { jupyter: _j, vnc: _v, rdp: _r, declared: _d, exposed: _e, ...rest } = info;
  const { tunnel_path: _t, proxy_command: _p, ...ssh } = info.ssh;
  return { ...rest, ssh, direct_refused: REFUSED };
}

async function everyRoute(d: ConnectionDeps, env: Environment): Promise<ConnectionInfo> {
  const secrets = (await d.repo.secrets(env.id))!;
  const base = d.publicUrl().replace(/\/+$/, '');
  const info: ConnectionInfo = {
    environment_id: env.id,
    name: env.name,
    ssh: {
      user: env.ssh_user,
      host_alias: sshAlias(base, env.name),
      host_key: env.host_key,
      tunnel_path: tunnelPath(env.id, SSH_PORT),
      proxy_command: `hangar proxy --url ${base} ${env.id}`,
    },
  };
  if (env.use_jumpserver && d.jumpserverRoute) info.jumpserver = await d.jumpserverRoute(env).catch(() => undefined);
  if (secrets.jupyter_token) {
    info.jupyter = { port: JUPYTER_PORT, token: secrets.jupyter_token, url: `${base}${jupyterPath(env.id)}` };
  }
  const declared = await d.repo.declaredAccess(env.id);
  if (declared.length) info.declared = declared.map((a) => ({ ...a, tunnel_path: tunnelPath(env.id, a.port) }));
  if (env.rdp_port !== null && secrets.rdp_password) {
    const host = d.publishAddress?.(env.backend_id) ?? '127.0.0.1';
    info.rdp = {
      host,
      port: env.rdp_port,
      user: env.ssh_user,
      password: secrets.rdp_password,
      rdp_file: rdpFile({ host, port: env.rdp_port, user: env.ssh_user, name: env.name }),
    };
  }
  const exposure =
    env.backend_ref && env.network_config?.expose ? capability(d.backends.get(env.backend_id), 'exposure') : undefined;
  if (exposure) info.exposed = await exposure.exposure(env.backend_ref!).catch(() => undefined);
  if (env.vnc_port !== null || secrets.vnc_password) {
    info.vnc = { port: env.vnc_port, password: secrets.vnc_password, websocket_path: tunnelPath(env.id, VNC_PORT) };
  }
  return info;
}

// What users get of JumpServer for their envs: connection tokens for KoKo, and the JumpServer sessions and commands
// of an env (shown beside Hangar's audit trail), with replay links.
import type { Environment, User } from '../../common/model';
import { ConflictError } from '../errors';
import * as jms from '../jumpserver/assets';
import { asAnswer, type JumpServerService } from './jumpserver';

async function registered(s: JumpServerService, env: Environment) {
  const row = await s.registration(env.id);
  if (!row?.asset_id) throw new ConflictError(`environment '${env.name}' is not registered in JumpServer`);
  return row;
}

export const unavailable = asAnswer;

interface JmsToken {
  id: string;
  value: string;
  expire_time?: number;
  date_expired?: string;
}

/** A connection token for the calling user (not for the gateway's own JumpServer identity): JumpServer's
 *  super-connection-token takes `user`; the plain connection-token endpoint ignores it and makes the token for the
 *  caller. Valid expire_time seconds (JumpServer's default 300). */
async function issueToken(
  s: JumpServerService,
  actor: User,
  env: Environment,
  o: { protocol: 'ssh' | 'rdp' | 'vnc'; connect_method: string; account: string },
): Promise<JmsToken> {
  const row = await registered(s, env);
  // The caller's JumpServer user (an admin acting on someone's env is an admin in JumpServer's audit too); JumpServer
  // refuses it unless an asset permission covers that user.
  const jmsUser = await jms.userIdOf(s.d.client, s.jmsUsername(actor.name)).catch(unavailable);
  return s.d.client
    .request<JmsToken>('POST', '/authentication/super-connection-token/', {
      user: jmsUser,
      asset: row.asset_id,
      account: o.account,
      protocol: o.protocol,
      connect_method: o.connect_method,
      is_reusable: false,
    })
    .catch(unavailable);
}

/** A connection token: KoKo login `JMS-<id>` with `value` as the password. */
export async function connectionToken(s: JumpServerService, actor: User, env: Environment) {
  const t = await issueToken(s, actor, env, { protocol: 'ssh', connect_method: 'ssh_client', account: env.ssh_user });
  return {
    id: t.id,
    username: `JMS-${t.id}`,
    password: t.value,
    host: s.d.cfg.koko.host,
    port: s.d.cfg.koko.port,
    expire_time: t.expire_time ?? 300,
    date_expired: t.date_expired ?? null,
  };
}

/** The .rdp file JumpServer issues for a fresh RDP token (mstsc): its address is JumpServer's RDP gateway (Razor),
 *  its username `<jmsuser>|<token id>`; the token's value is the password the client asks for. */
export async function jumpServerRdp(s: JumpServerService, actor: User, env: Environment) {
  const route = await s.route(env);
  if (!route?.rdp) throw new ConflictError(`environment '${env.name}' has no RDP in JumpServer`);
  const t = await issueToken(s, actor, env, { protocol: 'rdp', connect_method: 'mstsc', account: route.rdp.account });
  const file = await s.d.client
    .text('GET', `/authentication/super-connection-token/${encodeURIComponent(t.id)}/rdp-file/`)
    .catch(unavailable);
  const field = (k: string) => new RegExp(`^${k}:s:(.*?)\r?$`, 'm').exec(file)?.[1] ?? '';
  const address = field('full address');
  const colon = address.lastIndexOf(':');
  return {
    via: 'jumpserver' as const,
    filename: `${env.name}-jumpserver.rdp`,
    rdp_file: file,
    host: colon > 0 ? address.slice(0, colon) : address,
    port: colon > 0 ? Number(address.slice(colon + 1)) || 3389 : 3389,
    user: field('username'),
    password: t.value,
    expire_time: t.expire_time ?? 300,
  };
}

interface JmsSession {
  id: string;
  user?: string;
  asset?: string;
  account?: string;
  protocol?: string;
  date_start?: string;
  date_end?: string | null;
  is_finished?: boolean;
  has_replay?: boolean;
  has_command?: boolean;
}

/** The env's JumpServer sessions, newest first, each with its commands and replay link. */
export async function sessionsOf(s: JumpServerService, env: Environment) {
  const row = await registered(s, env);
  const sessions = await s.d.client
    .all<JmsSession>('/terminal/sessions/', { asset_id: row.asset_id! })
    .catch(unavailable);
  const out = [];
  for (const x of sessions) {
    const commands = x.has_command
      ? await s.d.client
          .all<{ input: string; timestamp?: number; risk_level?: number }>('/terminal/commands/', { session_id: x.id })
          .catch(unavailable)
      : [];
    out.push({
      ...x,
      replay_url: x.has_replay ? `${s.d.client.base}/api/v1/terminal/sessions/${x.id}/replay/` : null,
      commands: commands.map((c) => ({
        input: c.input,
        timestamp: c.timestamp ?? null,
        risk_level: c.risk_level ?? 0,
      })),
    });
  }
  return out;
}

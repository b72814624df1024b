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

/** A connection token: KoKo login `JMS-<id>` with `value` as the password (valid expire_time seconds). */
export async function connectionToken(s: JumpServerService, actor: User, env: Environment) {
  const row = await registered(s, env);
  const owner = actor.id === env.owner_id ? actor : await s.d.users.get(env.owner_id);
  const jmsUser = await jms.userIdOf(s.d.client, s.jmsUsername(owner?.name ?? actor.name)).catch(unavailable);
  const t = await s.d.client
    .request<{ id: string; value: string; expire_time?: number; date_expired?: string }>(
      'POST',
      '/authentication/connection-token/',
      {
        user: jmsUser,
        asset: row.asset_id,
        account: env.ssh_user,
        protocol: 'ssh',
        connect_method: 'ssh_client',
        is_reusable: false,
      },
    )
    .catch(unavailable);
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

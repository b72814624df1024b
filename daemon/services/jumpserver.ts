// JumpServer for environments with use_jumpserver: registration with the lifecycle (create/PATCH, stop, start,
// delete), drift repair both ways, the gateway's view of JumpServer (answers? as whom?) and KoKo routes.
import type { ConnectionInfo, Environment, JumpServerStatus } from '../../common/model';
import { generateEd25519 } from '../../common/sshkeys';
import type { JumpServerConfig } from '../config';
import type { RegistrationHooks } from '../environments/hooks';
import { BackendUnavailableError, UnprocessableError } from '../errors';
import { JumpServerDown, JumpServerRefused, type JumpServerClient } from '../jumpserver/client';
import * as jms from '../jumpserver/assets';
import type { Logger } from '../log';
import type { SecretBox } from '../secretBox';
import type { EnvironmentRepo } from '../store/environments';
import type { JmsRow, JumpServerRepo } from '../store/jumpserver';
import type { UserRepo } from '../store/users';

export class JumpServerUnavailableError extends BackendUnavailableError {
  constructor(cause: string) {
    super('jumpserver', cause.replace(/^JumpServer is unavailable: /, ''));
    this.message = `JumpServer is unavailable (jumpserver.required is set): ${cause.replace(/^JumpServer is unavailable: /, '')}`;
  }
}

export interface JumpServerDeps {
  cfg: JumpServerConfig;
  client: JumpServerClient;
  repo: JumpServerRepo;
  envs: EnvironmentRepo;
  users: UserRepo;
  box: SecretBox;
  gatewayId: string;
  log: Logger;
}

const down = (err: unknown) => err instanceof JumpServerDown;

/** JumpServer's failures as answers: down is 503 naming it, a refusal 422 saying what. */
export const asAnswer = (err: unknown): never => {
  if (err instanceof JumpServerDown) throw new JumpServerUnavailableError(err.message);
  if (err instanceof JumpServerRefused) throw new UnprocessableError(err.message, 'jumpserver_refused');
  throw err;
};

export class JumpServerService implements RegistrationHooks {
  /** Registration changes run one at a time (the lifecycle's hooks and reconcile meet here). */
  private queue: Promise<unknown> = Promise.resolve();
  constructor(readonly d: JumpServerDeps) {}

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const r = this.queue.then(fn, fn);
    this.queue = r.catch(() => undefined);
    return r;
  }

  async status(): Promise<JumpServerStatus> {
    const { cfg } = this.d;
    const base = { configured: true, url: cfg.url, org_id: cfg.org_id, required: cfg.required, koko: cfg.koko };
    const registered = (await this.d.repo.all()).filter((r) => r.asset_id).length;
    try {
      const me = await this.d.client.request<{ username: string }>('GET', '/users/profile/');
      return { ...base, available: true, as: me.username, registered };
    } catch (err) {
      return { ...base, available: false, error: (err as Error).message, registered };
    }
  }

  /** Hangar user name -> JumpServer username (user_mapping). */
  jmsUsername(name: string): string {
    return this.d.cfg.user_mapping.map[name] ?? `${this.d.cfg.user_mapping.prefix}${name}`;
  }

  async admit(useJumpServer: boolean): Promise<void> {
    if (!useJumpServer || !this.d.cfg.required) return;
    try {
      await this.d.client.request('GET', '/users/profile/');
    } catch (err) {
      if (down(err)) throw new JumpServerUnavailableError((err as Error).message);
      throw err;
    }
  }

  sync(env: Environment): Promise<void> {
    return this.serial(() => this.syncNow(env));
  }
  private async syncNow(env: Environment): Promise<void> {
    try {
      if (env.use_jumpserver) await this.register(env);
      else await this.removedNow(env.id);
    } catch (err) {
      if (this.d.cfg.required && env.use_jumpserver) asAnswer(err);
      this.d.log.warn({ env: env.id, err: String((err as Error).message) }, 'jumpserver: not registered; will retry');
    }
  }

  active(env: Environment, active: boolean): Promise<void> {
    return this.serial(() => this.activeNow(env, active));
  }
  private async activeNow(env: Environment, active: boolean): Promise<void> {
    const row = await this.d.repo.get(env.id);
    if (!row) return;
    await this.d.repo.update(env.id, { active: active ? 1 : 0 });
    if (!row.asset_id || !row.permission_id) return;
    await jms
      .setActive(this.d.client, ids(row)!, active)
      .catch((err) =>
        this.d.log.warn({ env: env.id, err: String(err) }, 'jumpserver: is_active not set; reconcile will'),
      );
  }

  removed(envId: string): Promise<void> {
    return this.serial(() => this.removedNow(envId));
  }
  private async removedNow(envId: string): Promise<void> {
    const row = await this.d.repo.get(envId);
    if (!row) return;
    try {
      await jms.removeAsset(this.d.client, row);
      await this.d.repo.delete(envId);
    } catch (err) {
      this.d.log.warn({ env: envId, err: String(err) }, 'jumpserver: objects left; reconcile will remove them');
      await this.d.repo.update(envId, { error: (err as Error).message });
    }
  }

  /** The row (ports, key pair) first, then JumpServer's objects; a failure there leaves a row without them. */
  private async register(env: Environment): Promise<void> {
    let row = await this.d.repo.get(env.id);
    if (row?.asset_id) return;
    row ??= await this.newRow(env);
    const owner = await this.d.users.get(env.owner_id);
    const jmsUser = await jms.userIdOf(this.d.client, this.jmsUsername(owner?.name ?? env.owner_id));
    try {
      const made = await jms.registerAsset(this.d.client, {
        name: row.asset_name,
        address: this.d.cfg.asset_address,
        protocols: protocolsOf(row),
        comment: jms.marker(this.d.gatewayId, env.id),
        platform: this.d.cfg.platform,
        node: this.d.cfg.node,
        accounts: await this.accountsOf(env, row),
        users: [jmsUser],
        active: env.status !== 'stopped',
      });
      await this.d.repo.update(env.id, { ...made, error: null, active: env.status !== 'stopped' ? 1 : 0 });
    } catch (err) {
      await this.d.repo.update(env.id, { error: (err as Error).message });
      throw err;
    }
  }

  /** The SSH key account; a desktop's RDP login (xrdp's password) and VNC password as password accounts. */
  private async accountsOf(env: Environment, row: JmsRow): Promise<jms.AccountSpec[]> {
    const secrets = await this.d.envs.secrets(env.id);
    const key = this.d.box.open(row.private_key_sealed);
    const out: jms.AccountSpec[] = [
      { name: env.ssh_user, username: env.ssh_user, secret_type: 'ssh_key', secret: key },
    ];
    if (row.rdp_port !== null && secrets?.rdp_password)
      out.push({ ...desktopAccount(env, 'rdp'), secret_type: 'password', secret: secrets.rdp_password });
    if (row.vnc_port !== null && secrets?.vnc_password)
      out.push({ ...desktopAccount(env, 'vnc'), secret_type: 'password', secret: secrets.vnc_password });
    return out;
  }

  private async newRow(env: Environment): Promise<JmsRow> {
    const used = await this.d.repo.usedPorts();
    const { from, to } = this.d.cfg.asset_port_range;
    const next = () => {
      let port = from;
      while (used.has(port) && port <= to) port++;
      if (port > to) throw new Error(`jumpserver.asset_port_range ${from}-${to} is used up`);
      used.add(port);
      return port;
    };
    const secrets = await this.d.envs.secrets(env.id);
    const port = next();
    const rdp_port = env.rdp_port !== null && secrets?.rdp_password ? next() : null;
    const vnc_port = secrets?.vnc_password ? next() : null;
    const key = generateEd25519(`jumpserver@${env.name}`);
    await this.d.repo.insert({
      env_id: env.id,
      asset_name: `hangar-${env.name}-${env.id.slice(0, 8)}`,
      asset_id: null,
      account_id: null,
      permission_id: null,
      port,
      rdp_port,
      vnc_port,
      public_key: key.publicKey,
      private_key_sealed: this.d.box.seal(key.privateKey),
      active: 1,
      error: null,
    });
    return (await this.d.repo.get(env.id))!;
  }

  /** The public key JumpServer's hosted account logs in with (authorized in the env beside its owner's keys). */
  async hostedKey(envId: string): Promise<string | undefined> {
    return (await this.d.repo.get(envId))?.public_key;
  }

  /** KoKo route of an env (connection info). */
  async route(env: Environment): Promise<ConnectionInfo['jumpserver']> {
    const row = await this.d.repo.get(env.id);
    if (!row?.asset_id) return undefined;
    const owner = await this.d.users.get(env.owner_id);
    const user = this.jmsUsername(owner?.name ?? env.owner_id);
    const { host, port } = this.d.cfg.koko;
    const account = env.ssh_user;
    return {
      host,
      port,
      user: `${user}@${account}@${row.asset_name}`,
      asset: row.asset_name,
      account,
      required: this.d.cfg.required,
      protocols: protocolsOf(row).map((p) => p.name),
      // Luna, JumpServer's web terminal, opened at this asset (SSH in the browser; RDP/VNC through Lion).
      web_url: `${this.d.client.base}/luna/?login_to=${row.asset_id}`,
      ...(row.rdp_port !== null ? { rdp: { account: desktopAccount(env, 'rdp').name, path: rdpPath(env.id) } } : {}),
      ...(row.vnc_port !== null ? { vnc: { account: desktopAccount(env, 'vnc').name } } : {}),
    };
  }

  directRefused(env: Environment): boolean {
    return env.use_jumpserver && this.d.cfg.required;
  }

  registration(envId: string) {
    return this.d.repo.get(envId);
  }
}

/** What the asset serves, each at its endpoint port on this gateway. */
export const protocolsOf = (r: JmsRow): { name: jms.JmsProtocol; port: number }[] => [
  { name: 'ssh', port: r.port },
  ...(r.rdp_port !== null ? [{ name: 'rdp' as const, port: r.rdp_port }] : []),
  ...(r.vnc_port !== null ? [{ name: 'vnc' as const, port: r.vnc_port }] : []),
];

/** The desktop's password accounts: named apart from the SSH key account, same login. */
export const desktopAccount = (env: Environment, p: 'rdp' | 'vnc') => ({
  name: `${env.ssh_user}-${p}`,
  username: env.ssh_user,
});

const rdpPath = (envId: string) => `/api/v1/environments/${envId}/rdp`;

const ids = (r: JmsRow) =>
  r.asset_id && r.account_id && r.permission_id
    ? { asset_id: r.asset_id, account_id: r.account_id, permission_id: r.permission_id }
    : undefined;

import { sql, type Kysely, type Selectable, type SelectQueryBuilder } from 'kysely';
import type { Environment, EnvStatus } from '../../common/model';
import type { SecretBox } from '../secretBox';
import { hotQuery } from './hotQuery';
import { JupyterTokens } from './jupyterTokens';
import { VersionedRows } from './versionedRows';
import type { Database, EnvironmentsTable } from './schema';

type Row = Selectable<EnvironmentsTable>;

/** Secrets kept with the row but never part of the Environment the API returns. */
export interface EnvSecrets {
  vnc_password: string | null;
  jupyter_token: string | null;
  rdp_password: string | null;
}

export interface PendingAction {
  action: 'stop' | 'delete' | 'start';
  reason: string;
  decided_at: string;
}

export interface LifecycleTimes {
  started_at: string | null;
  stopped_at: string | null;
  last_activity_at: string | null;
  extended_until: string | null;
  pending: PendingAction | null;
}

export interface EnvFilter {
  owner_id?: string;
  status?: string[];
  deployment_mode?: string;
  environment_type?: string;
  backend_id?: string;
  name?: string;
}

/** Where a page of the list starts: after this row, in the list's order (created_at, name, id). */
export interface ListAfter {
  created_at: string;
  name: string;
  id: string;
}

function timesOf(
  r: Pick<Row, 'started_at' | 'stopped_at' | 'last_activity_at' | 'extended_until' | 'lifecycle_pending'>,
): LifecycleTimes {
  return {
    started_at: r.started_at,
    stopped_at: r.stopped_at,
    last_activity_at: r.last_activity_at,
    extended_until: r.extended_until,
    pending: r.lifecycle_pending ? JSON.parse(r.lifecycle_pending) : null,
  };
}

/** A page of the list and its rows' lifecycle times (read with them). */
export interface EnvPageRead {
  envs: readonly Environment[];
  times: ReadonlyMap<string, LifecycleTimes>;
}

/** A row as the list shows it. */
interface ListedRow {
  env: Environment;
  times: LifecycleTimes;
}

type EnvSelect<O> = SelectQueryBuilder<Database, 'environments', O>;

/** The list's filters and window in its stable order, on whatever columns `q` selects. */
function filtered<O>(q: EnvSelect<O>, f: EnvFilter & { limit?: number; after?: ListAfter }): EnvSelect<O> {
  const a = f.after;
  // A row value comparison: SQLite seeks the (created_at, name, id) index to it (an OR of terms would scan).
  if (a) q = q.where(sql<boolean>`(created_at, name, id) > (${a.created_at}, ${a.name}, ${a.id})`);
  if (f.limit !== undefined) q = q.limit(f.limit);
  if (f.owner_id) q = q.where('owner_id', '=', f.owner_id);
  if (f.status?.length) q = q.where('status', 'in', f.status);
  if (f.deployment_mode) q = q.where('deployment_mode', '=', f.deployment_mode);
  if (f.environment_type) q = q.where('environment_type', '=', f.environment_type);
  if (f.backend_id) q = q.where('backend_id', '=', f.backend_id);
  if (f.name) q = q.where('name', '=', f.name);
  return q.orderBy('created_at').orderBy('name').orderBy('id');
}

const json = (v: unknown) => (v === null || v === undefined ? null : JSON.stringify(v));

function toDomain(r: Row): Environment {
  return {
    id: r.id,
    name: r.name,
    owner_id: r.owner_id,
    deployment_mode: r.deployment_mode as Environment['deployment_mode'],
    environment_type: r.environment_type as Environment['environment_type'],
    gpu_mode: r.gpu_mode as Environment['gpu_mode'],
    storage_type: r.storage_type as Environment['storage_type'],
    storage_config: r.storage_config ? JSON.parse(r.storage_config) : null,
    lifecycle_policy: r.lifecycle_policy as Environment['lifecycle_policy'],
    lifecycle_config: r.lifecycle_config ? JSON.parse(r.lifecycle_config) : null,
    network_config: r.network_config ? JSON.parse(r.network_config) : null,
    use_jumpserver: Boolean(r.use_jumpserver),
    vnc_port: r.vnc_port,
    rdp_port: r.rdp_port,
    backend_id: r.backend_id,
    backend_ref: r.backend_ref,
    image: r.image,
    image_pull_policy: r.image_pull_policy as Environment['image_pull_policy'],
    cpu: r.cpu,
    memory_mb: r.memory_mb,
    gpu_count: r.gpu_count,
    gpu_device_ids: JSON.parse(r.gpu_device_ids),
    gpu_model: r.gpu_model,
    gpu_mig_profile: r.gpu_mig_profile,
    env_vars: JSON.parse(r.env_vars),
    env_vars_from_secrets: JSON.parse(r.env_secrets || '{}'),
    schedule: r.schedule,
    command: r.command ? JSON.parse(r.command) : null,
    ssh_user: r.ssh_user,
    ssh_server: (r.ssh_server ?? 'image') as Environment['ssh_server'],
    profile: r.profile ?? null,
    profile_options: r.profile_options ? JSON.parse(r.profile_options) : null,
    host_key: r.host_key,
    status: r.status as EnvStatus,
    status_message: r.status_message,
    created_at: r.created_at,
    updated_at: r.updated_at,
  };
}

/** created_at is kept when a row is rebuilt (an adopted orphan); new rows get now. */
export type NewEnvironment = Omit<
  Environment,
  'created_at' | 'updated_at' | 'owner_name' | 'vnc_password' | 'profile' | 'profile_options' | 'next_action'
> &
  EnvSecrets & { created_at?: string };

export class EnvironmentRepo {
  /** Rows the list has read, by version (a transaction's repo has its own, short-lived). */
  private readonly rows = new VersionedRows<ListedRow>();

  /** `box` encrypts the secret columns at rest (Jupyter token, VNC password). */
  /** Asked by nearly every request. */
  private readonly row: (id: string) => Promise<Row | undefined>;
  /** The Jupyter proxy's per-request read. */
  readonly jupyter: JupyterTokens;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly box?: SecretBox,
    /** The lifecycle's clock for started_at / stopped_at (tests move it). */
    private readonly now: () => number = Date.now,
  ) {
    this.row = hotQuery(db, (d, id: string) => d.selectFrom('environments').selectAll().where('id', '=', id), ['']);
    this.jupyter = new JupyterTokens(db, box);
  }

  private seal(v: string | null | undefined): string | null | undefined {
    return v && this.box ? this.box.seal(v) : v;
  }

  async insert(e: NewEnvironment): Promise<Environment> {
    const now = new Date().toISOString();
    await this.db
      .insertInto('environments')
      .values({
        id: e.id,
        name: e.name,
        owner_id: e.owner_id,
        deployment_mode: e.deployment_mode,
        environment_type: e.environment_type,
        gpu_mode: e.gpu_mode,
        storage_type: e.storage_type,
        storage_config: json(e.storage_config),
        lifecycle_policy: e.lifecycle_policy,
        lifecycle_config: json(e.lifecycle_config),
        network_config: json(e.network_config),
        use_jumpserver: e.use_jumpserver ? 1 : 0,
        vnc_port: e.vnc_port,
        vnc_password: this.seal(e.vnc_password) ?? null,
        rdp_port: e.rdp_port,
        rdp_password: this.seal(e.rdp_password) ?? null,
        backend_id: e.backend_id,
        backend_ref: e.backend_ref,
        image: e.image,
        image_pull_policy: e.image_pull_policy,
        cpu: e.cpu,
        memory_mb: e.memory_mb,
        gpu_count: e.gpu_count,
        gpu_device_ids: JSON.stringify(e.gpu_device_ids),
        gpu_model: e.gpu_model,
        gpu_mig_profile: e.gpu_mig_profile,
        env_vars: JSON.stringify(e.env_vars),
        env_secrets: JSON.stringify(e.env_vars_from_secrets ?? {}),
        schedule: e.schedule ?? null,
        command: json(e.command),
        ssh_user: e.ssh_user,
        ssh_server: e.ssh_server,
        host_key: e.host_key,
        jupyter_token: this.seal(e.jupyter_token) ?? null,
        status: e.status,
        status_message: e.status_message,
        created_at: e.created_at ?? now,
        updated_at: now,
      })
      .execute();
    return (await this.get(e.id))!;
  }

  async get(id: string): Promise<Environment | undefined> {
    const r = await this.row(id);
    return r && toDomain(r);
  }

  async findByName(ownerId: string, name: string): Promise<Environment | undefined> {
    const r = await this.db
      .selectFrom('environments')
      .selectAll()
      .where('owner_id', '=', ownerId)
      .where('name', '=', name)
      .executeTakeFirst();
    return r && toDomain(r);
  }

  async secrets(id: string): Promise<EnvSecrets | undefined> {
    const r = await this.db
      .selectFrom('environments')
      .select(['vnc_password', 'jupyter_token', 'rdp_password'])
      .where('id', '=', id)
      .executeTakeFirst();
    if (!r) return undefined;
    const open = (v: string | null) => (v && this.box ? this.box.open(v) : v);
    return {
      vnc_password: open(r.vnc_password),
      jupyter_token: open(r.jupyter_token),
      rdp_password: open(r.rdp_password),
    };
  }

  /** Filters in SQL; `limit`/`after`: one page of the stable order (keyset, backed by an index of migration 016). */
  async list(f: EnvFilter & { limit?: number; after?: ListAfter } = {}): Promise<Environment[]> {
    return (await filtered(this.db.selectFrom('environments').selectAll(), f).execute()).map(toDomain);
  }

  /** A page of the list with its rows' lifecycle times: the window's ids and row versions, then in full only the
   *  rows not already read at that version. A row deleted between the two reads is left out. */
  async page(f: EnvFilter & { limit: number; after?: ListAfter }): Promise<EnvPageRead> {
    const keys = await filtered(this.db.selectFrom('environments').select(['id', 'row_version']), f).execute();
    const missing = keys.filter((k) => !this.rows.get(k.id, k.row_version)).map((k) => k.id);
    // Read in full just now, maybe at a newer version than the window saw: the newer row is the one to show.
    const fresh = new Map<string, ListedRow>();
    if (missing.length)
      for (const r of await this.db.selectFrom('environments').selectAll().where('id', 'in', missing).execute())
        fresh.set(r.id, this.rows.put(r.id, r.row_version, { env: toDomain(r), times: timesOf(r) }));
    const envs: Environment[] = [];
    const times = new Map<string, LifecycleTimes>();
    for (const k of keys) {
      const r = fresh.get(k.id) ?? this.rows.get(k.id, k.row_version);
      if (!r) continue;
      envs.push(r.env);
      times.set(k.id, r.times);
    }
    return { envs, times };
  }

  async update(
    id: string,
    patch: Partial<
      Pick<
        Environment,
        | 'status'
        | 'status_message'
        | 'backend_ref'
        | 'host_key'
        | 'lifecycle_policy'
        | 'lifecycle_config'
        | 'use_jumpserver'
        | 'env_vars'
        | 'cpu'
        | 'memory_mb'
      >
    > & { gpu_device_ids?: string[] } & Partial<EnvSecrets>,
  ): Promise<Environment | undefined> {
    const {
      use_jumpserver,
      env_vars,
      gpu_device_ids,
      jupyter_token,
      vnc_password,
      rdp_password,
      lifecycle_config,
      ...rest
    } = patch;
    await this.db
      .updateTable('environments')
      .set({
        ...rest,
        ...(use_jumpserver === undefined ? {} : { use_jumpserver: use_jumpserver ? 1 : 0 }),
        ...(env_vars === undefined ? {} : { env_vars: JSON.stringify(env_vars) }),
        ...(lifecycle_config === undefined ? {} : { lifecycle_config: json(lifecycle_config) }),
        ...(gpu_device_ids === undefined ? {} : { gpu_device_ids: JSON.stringify(gpu_device_ids) }),
        ...(jupyter_token === undefined ? {} : { jupyter_token: this.seal(jupyter_token) ?? null }),
        ...(vnc_password === undefined ? {} : { vnc_password: this.seal(vnc_password) ?? null }),
        ...(rdp_password === undefined ? {} : { rdp_password: this.seal(rdp_password) ?? null }),
        updated_at: new Date().toISOString(),
      })
      .where('id', '=', id)
      .execute();
    return this.get(id);
  }

  /** Compare-and-set on status: only one caller wins a transition (e.g. two concurrent stops). */
  async transition(id: string, from: EnvStatus[], to: EnvStatus, message: string | null = null): Promise<boolean> {
    const now = new Date(this.now()).toISOString();
    // The lifecycle's deadlines derive from when it last started / stopped (a running → running keeps the start).
    const times =
      to === 'running'
        ? { started_at: sql<string>`case when status = 'running' then started_at else ${now} end` }
        : to === 'stopped'
          ? { stopped_at: sql<string>`case when status = 'stopped' then stopped_at else ${now} end` }
          : {};
    const r = await this.db
      .updateTable('environments')
      .set({ status: to, status_message: message, updated_at: now, ...times })
      .where('id', '=', id)
      .where('status', 'in', from)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async declaredAccess(id: string): Promise<{ protocol: string; port: number }[]> {
    const r = await this.db
      .selectFrom('environments')
      .select('declared_access')
      .where('id', '=', id)
      .executeTakeFirst();
    return r?.declared_access ? JSON.parse(r.declared_access) : [];
  }

  async setDeclaredAccess(id: string, access: { protocol: string; port: number }[]): Promise<void> {
    await this.db
      .updateTable('environments')
      .set({ declared_access: JSON.stringify(access) })
      .where('id', '=', id)
      .execute();
  }

  /** What the lifecycle's deadlines derive from, for the envs named (all: one query per tick). */
  async lifecycleTimes(ids?: string[]): Promise<Map<string, LifecycleTimes>> {
    let q = this.db
      .selectFrom('environments')
      .select(['id', 'started_at', 'stopped_at', 'last_activity_at', 'extended_until', 'lifecycle_pending']);
    if (ids) q = q.where('id', 'in', ids.length ? ids : ['']);
    return new Map((await q.execute()).map((r) => [r.id, timesOf(r)]));
  }

  /** Activity pushes last_activity_at out, never in. */
  async touchActivity(ids: string[], at: string): Promise<void> {
    if (!ids.length) return;
    await this.db
      .updateTable('environments')
      .set({ last_activity_at: sql<string>`max(coalesce(last_activity_at, ''), ${at})` })
      .where('id', 'in', ids)
      .execute();
  }

  async setExtendedUntil(id: string, at: string): Promise<void> {
    await this.db.updateTable('environments').set({ extended_until: at }).where('id', '=', id).execute();
  }

  /** The automatic action decided and not yet done (null: done or dropped). */
  async setPending(id: string, pending: PendingAction | null): Promise<void> {
    await this.db
      .updateTable('environments')
      .set({ lifecycle_pending: pending && JSON.stringify(pending) })
      .where('id', '=', id)
      .execute();
  }

  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('environments').where('id', '=', id).execute();
  }
}

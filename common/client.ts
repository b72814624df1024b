// Typed HTTP client for the gateway API, shared by the CLI and the extension. No vscode imports.
import type { Backup, BackupSchedule, PutBackupScheduleInput, RestoreSnapshotInput, VolumeSnapshot } from './snapshots';
import type { IncomingMessage } from 'node:http';
import type https from 'node:https';
import type { Readable } from 'node:stream';
import { EventStream } from './events';
import { VERSION } from './version';
import { TlsTrustError } from './tls/errors';
import { fetchWithAgent } from './tls/fetch';
import { agentFor, type TlsTrust } from './tls/trust';
import { failureOf, isTlsRefusal, readText, transfer } from './transfer';
import type {
  RdpLogin,
  AuditPage,
  JumpServerStatus,
  BackendInfo,
  ConnectionInfo,
  DatasetsSynced,
  EnvActivity,
  Environment,
  Orphan,
  Snapshot,
  SshKey,
  User,
  VmTemplate,
  StorageOverview,
  Volume,
} from './model';
import type {
  AuditQuery,
  CreateEnvironmentRequest,
  CreateVolumeRequest,
  ImportTemplateRequest,
  UpdateEnvironmentInput,
} from './schemas';

/** X-Hangar-Client values: the audit trail records which program made each request. */
export const CLI_CLIENT = `hangar-cli/${VERSION}`;
export const VSCODE_CLIENT = `hangar-vscode/${VERSION}`;
import type { CreateFromProfileRequest, ProfileDrift, ProfileInfo, ProfileInput, ProfileList } from './profiles';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** An error answer as an ApiError: the gateway's { error: { code, message, field } }, or the status alone. */
function apiErrorOf(status: number, body: string, method: string, path: string): ApiError {
  let e: { code?: string; message?: string; field?: string } = {};
  try {
    e = (JSON.parse(body) as { error?: typeof e }).error ?? {};
  } catch {
    /* not JSON */
  }
  return new ApiError(status, e.code ?? `http_${status}`, e.message ?? `${method} ${path}: HTTP ${status}`, e.field);
}

export interface ClientOptions {
  url: string;
  token?: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
  /** For https:// gateways: a CA file's PEM and/or the pinned certificate fingerprint (common/tls/trust.ts). */
  tls?: TlsTrust;
  /** Sent as X-Hangar-Client (the audit trail's client): "hangar-cli/<version>", "hangar-vscode/<version>". */
  client?: string;
}

/** How long a request that moves a target's whole data (a backup, a restore) may take. */
const LONG_MS = 30 * 60_000;

export class HangarClient {
  readonly url: string;
  /** For https:// gateways: the agent every request, tunnel and event stream goes through (pin checked). */
  readonly agent?: https.Agent;
  private readonly fetchFn: typeof fetch;
  constructor(private readonly o: ClientOptions) {
    this.url = o.url.replace(/\/+$/, '');
    this.agent = agentFor(this.url, o.tls);
    this.fetchFn = o.fetch ?? (this.agent ? fetchWithAgent(this.agent) : fetch);
  }

  get token(): string | undefined {
    return this.o.token;
  }

  /** A JSON request, on node:http(s) (no fetch: loading its runtime, undici, is a third of a CLI start). */
  async request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    if (this.o.fetch) {
      const res = await this.raw(method, path, body, signal);
      return (res.status === 204 ? undefined : await res.json()) as T;
    }
    const json = body === undefined ? undefined : JSON.stringify(body);
    const timeout = AbortSignal.timeout(this.o.timeoutMs ?? 60_000);
    let text: string;
    try {
      const res = await transfer({
        method,
        url: `${this.url}${path}`,
        headers: this.headers(json === undefined ? {} : { 'content-type': 'application/json' }),
        body: json,
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        agent: this.agent,
      });
      text = await readText(res);
    } catch (err) {
      if (timeout.aborted && !signal?.aborted)
        throw this.unreachable(`no answer within ${(this.o.timeoutMs ?? 60_000) / 1000} s`);
      throw this.failed(err, method, path, signal?.aborted === true);
    }
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  async raw(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
    return this.exchange(method, path, {
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      signal,
    });
  }

  /** A request with a raw body (a string or a byte stream: uploads) and extra headers; timeoutMs 0: no timeout
   *  (transfers take as long as they take; the signal cancels them). */
  async exchange(
    method: string,
    path: string,
    o: {
      body?: string | AsyncIterable<Uint8Array>;
      headers?: Record<string, string>;
      signal?: AbortSignal;
      timeoutMs?: number;
    },
  ): Promise<Response> {
    const { signal } = o;
    const headers = this.headers(o.headers);
    const ms = o.timeoutMs ?? this.o.timeoutMs ?? 60_000;
    const timeout = ms > 0 ? AbortSignal.timeout(ms) : undefined;
    const signals = [signal, timeout].filter((x): x is AbortSignal => x !== undefined);
    let res: Response;
    try {
      res = await this.fetchFn(`${this.url}${path}`, {
        method,
        headers,
        body: o.body as BodyInit | undefined,
        // A streamed body needs half-duplex (undici); harmless for strings.
        ...(o.body !== undefined && typeof o.body !== 'string' ? { duplex: 'half' } : {}),
        signal: signals.length ? AbortSignal.any(signals) : undefined,
      } as RequestInit);
    } catch (err) {
      if ((err as Error).name === 'AbortError' && signal?.aborted) throw err;
      // A refused certificate says what to check; it is not "unreachable".
      if (err instanceof TlsTrustError) throw err;
      throw this.unreachable((err as Error).cause ?? (err as Error).message);
    }
    if (!res.ok) throw apiErrorOf(res.status, await res.text().catch(() => ''), method, path);
    return res;
  }

  /** Bulk bytes (dataset transfers) on node:http(s) streams instead of fetch: the answer's stream once its head
   *  is in; no timeout (the signal cancels). Errors as exchange() gives them. */
  async transfer(
    method: string,
    path: string,
    o: { body?: Readable; headers?: Record<string, string>; signal?: AbortSignal } = {},
  ): Promise<IncomingMessage> {
    try {
      return await transfer({
        method,
        url: `${this.url}${path}`,
        headers: this.headers(o.headers),
        body: o.body,
        signal: o.signal,
        agent: this.agent,
      });
    } catch (err) {
      throw this.failed(err, method, path, true); // no timeout here: an abort is the caller's
    }
  }

  /** An error answer as ApiError; the caller's abort and a refused certificate as they are; else unreachable. */
  private failed(err: unknown, method: string, path: string, callerAborted: boolean): unknown {
    const f = failureOf(err);
    if (f) return apiErrorOf(f.status, f.body, method, path);
    if (isTlsRefusal(err) || ((err as Error).name === 'AbortError' && callerAborted)) return err;
    return this.unreachable((err as Error).message);
  }

  /** Every request's headers: JSON answers, the bearer token, who is asking (the audit trail's client). */
  private headers(extra: Record<string, string> = {}): Record<string, string> {
    const h: Record<string, string> = { accept: 'application/json', ...extra };
    if (this.o.token) h.authorization = `Bearer ${this.o.token}`;
    h['x-hangar-client'] = this.o.client ?? `hangar-client/${VERSION}`;
    return h;
  }

  private unreachable(cause: unknown): ApiError {
    return new ApiError(0, 'unreachable', `gateway ${this.url} is unreachable: ${cause}`);
  }

  me() {
    return this.request<User>('GET', '/api/v1/me');
  }
  jumpserver() {
    return this.request<JumpServerStatus>('GET', '/api/v1/jumpserver');
  }
  /** The audit trail (admin): a page, newest first. */
  audit(q: Omit<AuditQuery, 'format' | 'limit'> & { limit?: number } = {}) {
    return this.request<AuditPage>('GET', `/api/v1/audit?${auditParams(q)}`);
  }
  /** The audit trail as JSON lines or CSV text, and the cursor of the next page. */
  async auditText(q: Omit<AuditQuery, 'format' | 'limit'> & { limit?: number }, format: 'jsonl' | 'csv') {
    const res = await this.raw('GET', `/api/v1/audit?${auditParams({ ...q, format })}`);
    return { text: await res.text(), next_cursor: res.headers.get('x-next-cursor') };
  }
  health() {
    return this.request<{ ok: boolean; version: string }>('GET', '/healthz');
  }
  listEnvironments(q: Record<string, string> = {}) {
    const qs = new URLSearchParams(q).toString();
    return this.request<Environment[]>('GET', `/api/v1/environments${qs ? '?' + qs : ''}`);
  }
  /** One page (`limit`, `cursor`): the envs and the next page's cursor (null: the last page). */
  async listEnvironmentsPage(q: Record<string, string> & { limit: string }) {
    const res = await this.raw('GET', `/api/v1/environments?${new URLSearchParams(q)}`);
    return { items: (await res.json()) as Environment[], next_cursor: res.headers.get('x-next-cursor') };
  }
  /** Every env, page by page (`max`: stop after that many). A gateway without pages (400 on the first): one list. */
  async listEnvironmentsPaged(q: Record<string, string> = {}, pageSize = 500, max = Infinity): Promise<Environment[]> {
    const out: Environment[] = [];
    let cursor: string | null = null;
    do {
      const limit = String(Math.min(pageSize, max - out.length));
      let page: { items: Environment[]; next_cursor: string | null };
      try {
        page = await this.listEnvironmentsPage({ ...q, limit, ...(cursor ? { cursor } : {}) });
      } catch (err) {
        if (cursor || !(err instanceof ApiError) || err.status !== 400) throw err;
        return (await this.listEnvironments(q)).slice(0, max);
      }
      out.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor && out.length < max);
    return out;
  }
  getEnvironment(idOrName: string) {
    return this.request<Environment>('GET', `/api/v1/environments/${encodeURIComponent(idOrName)}`);
  }
  profiles() {
    return this.request<ProfileList>('GET', '/api/v1/profiles');
  }
  profile(name: string) {
    return this.request<ProfileInfo>('GET', `/api/v1/profiles/${encodeURIComponent(name)}`);
  }
  createProfile(p: ProfileInput) {
    return this.request<ProfileInfo>('POST', '/api/v1/profiles', p);
  }
  deleteProfile(name: string) {
    return this.request<void>('DELETE', `/api/v1/profiles/${encodeURIComponent(name)}`);
  }
  profileDrift(idOrName: string) {
    return this.request<ProfileDrift>('GET', `/api/v1/environments/${encodeURIComponent(idOrName)}/profile-drift`);
  }
  createEnvironment(req: CreateEnvironmentRequest | CreateFromProfileRequest, signal?: AbortSignal) {
    return this.request<Environment>('POST', '/api/v1/environments', req, signal);
  }
  updateEnvironment(idOrName: string, patch: UpdateEnvironmentInput) {
    return this.request<Environment>('PATCH', `/api/v1/environments/${encodeURIComponent(idOrName)}`, patch);
  }
  deleteEnvironment(idOrName: string) {
    return this.request<void>('DELETE', `/api/v1/environments/${encodeURIComponent(idOrName)}`);
  }
  /** Pushes the next automatic stop out (POST /environments/:id/extend). */
  extend(idOrName: string, minutes: number) {
    return this.request<Environment>('POST', `/api/v1/environments/${encodeURIComponent(idOrName)}/extend`, {
      minutes,
    });
  }
  action(idOrName: string, action: 'start' | 'stop' | 'restart', signal?: AbortSignal) {
    return this.request<Environment>(
      'POST',
      `/api/v1/environments/${encodeURIComponent(idOrName)}/${action}`,
      undefined,
      signal,
    );
  }
  /** What is open in the env now: tunnels through the gateway and the agent's own sessions, by kind. */
  /** Copies the env's read-write datasets back to their prefixes now (Kubernetes pods). */
  syncDatasets(idOrName: string) {
    return this.request<DatasetsSynced>('POST', `/api/v1/environments/${encodeURIComponent(idOrName)}/datasets/sync`);
  }
  activity(idOrName: string) {
    return this.request<EnvActivity>('GET', `/api/v1/environments/${encodeURIComponent(idOrName)}/activity`);
  }
  connection(idOrName: string) {
    return this.request<ConnectionInfo>('GET', `/api/v1/environments/${encodeURIComponent(idOrName)}/connection`);
  }
  /** The env's RDP login and .rdp file (through JumpServer when it is registered there). */
  rdp(idOrName: string) {
    return this.request<RdpLogin>('POST', `/api/v1/environments/${encodeURIComponent(idOrName)}/rdp`);
  }
  backends() {
    return this.request<(BackendInfo & { default: boolean })[]>('GET', '/api/v1/backends');
  }
  templates(backendId?: string) {
    return this.request<VmTemplate[]>(
      'GET',
      `/api/v1/templates${backendId ? `?backend_id=${encodeURIComponent(backendId)}` : ''}`,
    );
  }
  importTemplate(backendId: string, req: ImportTemplateRequest, signal?: AbortSignal) {
    return this.request<VmTemplate>('POST', `/api/v1/backends/${encodeURIComponent(backendId)}/templates`, req, signal);
  }
  deleteTemplate(backendId: string, name: string) {
    return this.request<void>(
      'DELETE',
      `/api/v1/backends/${encodeURIComponent(backendId)}/templates/${encodeURIComponent(name)}`,
    );
  }
  snapshots(env: string) {
    return this.request<Snapshot[]>('GET', `/api/v1/environments/${encodeURIComponent(env)}/snapshots`);
  }
  createSnapshot(env: string, name: string, description?: string, signal?: AbortSignal) {
    return this.request<Snapshot>(
      'POST',
      `/api/v1/environments/${encodeURIComponent(env)}/snapshots`,
      { name, description },
      signal,
    );
  }
  revertSnapshot(env: string, name: string, signal?: AbortSignal) {
    return this.request<Environment>(
      'POST',
      `/api/v1/environments/${encodeURIComponent(env)}/snapshots/${encodeURIComponent(name)}/revert`,
      undefined,
      signal,
    );
  }
  deleteSnapshot(env: string, name: string) {
    return this.request<void>(
      'DELETE',
      `/api/v1/environments/${encodeURIComponent(env)}/snapshots/${encodeURIComponent(name)}`,
    );
  }
  volumes() {
    return this.request<Volume[]>('GET', '/api/v1/volumes');
  }
  volume(id: string) {
    return this.request<Volume>('GET', `/api/v1/volumes/${encodeURIComponent(id)}`);
  }
  createVolume(req: CreateVolumeRequest) {
    return this.request<Volume>('POST', '/api/v1/volumes', req);
  }
  resizeVolume(id: string, size_gb: number) {
    return this.request<Volume>('PATCH', `/api/v1/volumes/${encodeURIComponent(id)}`, { size_gb });
  }
  deleteVolume(id: string) {
    return this.request<void>('DELETE', `/api/v1/volumes/${encodeURIComponent(id)}`);
  }
  storage() {
    return this.request<StorageOverview>('GET', '/api/v1/storage');
  }
  orphans() {
    return this.request<Orphan[]>('GET', '/api/v1/orphans');
  }
  adoptOrphan(ref: string, owner?: string) {
    return this.request<Environment>(
      'POST',
      `/api/v1/orphans/${encodeURIComponent(ref)}/adopt`,
      owner ? { owner } : {},
    );
  }
  removeOrphan(ref: string) {
    return this.request<void>('DELETE', `/api/v1/orphans/${encodeURIComponent(ref)}`);
  }
  listKeys() {
    return this.request<SshKey[]>('GET', '/api/v1/ssh-keys');
  }
  addKey(name: string, publicKey: string) {
    return this.request<SshKey>('POST', '/api/v1/ssh-keys', { name, public_key: publicKey });
  }
  createUser(name: string, role: 'admin' | 'user' = 'user', team?: string) {
    return this.request<{ user: User; token: string }>('POST', '/api/v1/users', {
      name,
      role,
      ...(team ? { team } : {}),
    });
  }

  /** Logs as a byte stream (follow keeps it open). */
  // Snapshots of volumes and backups (common/snapshots.ts).
  volumeSnapshots(volumeId: string) {
    return this.request<VolumeSnapshot[]>('GET', `/api/v1/volumes/${encodeURIComponent(volumeId)}/snapshots`);
  }
  createVolumeSnapshot(volumeId: string, name?: string) {
    const p = `/api/v1/volumes/${encodeURIComponent(volumeId)}/snapshots`;
    return this.request<VolumeSnapshot>('POST', p, name ? { name } : {});
  }
  deleteVolumeSnapshot(volumeId: string, snapshotId: string) {
    const p = `/api/v1/volumes/${encodeURIComponent(volumeId)}/snapshots/${encodeURIComponent(snapshotId)}`;
    return this.request<void>('DELETE', p);
  }
  restoreSnapshot(snapshotId: string, req: RestoreSnapshotInput) {
    return this.request<Volume>('POST', `/api/v1/snapshots/${encodeURIComponent(snapshotId)}/restore`, req);
  }
  backups(q: { environment?: string; volume?: string } = {}) {
    const qs = new URLSearchParams(Object.entries(q).filter((e): e is [string, string] => !!e[1])).toString();
    return this.request<Backup[]>('GET', `/api/v1/backups${qs ? `?${qs}` : ''}`);
  }
  backup(id: string) {
    return this.request<Backup>('GET', `/api/v1/backups/${encodeURIComponent(id)}`);
  }
  /** Archives as much data as the target holds: waits up to `timeoutMs` (30 min), not the client's usual limit. */
  runBackup(req: { environment?: string; volume?: string }, timeoutMs = LONG_MS) {
    return this.long<Backup>('POST', '/api/v1/backups', req, timeoutMs);
  }
  restoreBackup(id: string, timeoutMs = LONG_MS) {
    return this.long<Backup>('POST', `/api/v1/backups/${encodeURIComponent(id)}/restore`, undefined, timeoutMs);
  }
  private async long<T>(method: string, path: string, body: unknown, timeoutMs: number): Promise<T> {
    const res = await this.exchange(method, path, {
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      timeoutMs,
    });
    return (await res.json()) as T;
  }
  deleteBackup(id: string) {
    return this.request<void>('DELETE', `/api/v1/backups/${encodeURIComponent(id)}`);
  }
  backupSchedules() {
    return this.request<BackupSchedule[]>('GET', '/api/v1/backup-schedules');
  }
  putBackupSchedule(req: Partial<PutBackupScheduleInput> & { cron: string }) {
    return this.request<BackupSchedule>('PUT', '/api/v1/backup-schedules', req);
  }
  deleteBackupSchedule(id: string) {
    return this.request<void>('DELETE', `/api/v1/backup-schedules/${encodeURIComponent(id)}`);
  }

  async logs(
    idOrName: string,
    opts: { tail?: number; follow?: boolean; signal?: AbortSignal },
  ): Promise<ReadableStream<Uint8Array>> {
    const q = new URLSearchParams({ tail: String(opts.tail ?? 100), follow: String(Boolean(opts.follow)) });
    const res = await this.raw(
      'GET',
      `/api/v1/environments/${encodeURIComponent(idOrName)}/logs?${q}`,
      undefined,
      opts.signal,
    );
    return res.body!;
  }

  /** Waits for one of `want`, reporting each status change. Listens on the event stream (no polling delay)
   *  and re-reads the env on every event and every 2 s, so a lost event can't stall it. */
  async waitFor(
    idOrName: string,
    want: Environment['status'][],
    opts: { signal?: AbortSignal; onStatus?: (e: Environment) => void; timeoutMs?: number } = {},
  ): Promise<Environment> {
    const deadline = Date.now() + (opts.timeoutMs ?? 15 * 60_000);
    let wake: () => void = () => undefined;
    let changed: boolean; // set before each read in the loop below
    const stream = new EventStream({
      url: this.url,
      token: this.o.token,
      agent: this.agent,
      onEvent: () => {
        changed = true;
        wake();
      },
      maxAttempts: 3,
    });
    let readyTimer: NodeJS.Timeout | undefined;
    await Promise.race([
      stream.ready,
      new Promise((r) => {
        readyTimer = setTimeout(r, 2000);
      }),
    ]);
    clearTimeout(readyTimer);
    let last = '';
    try {
      for (;;) {
        changed = false;
        const env = await this.getEnvironment(idOrName);
        if (env.status !== last) {
          last = env.status;
          opts.onStatus?.(env);
        }
        if (want.includes(env.status)) return env;
        if (env.status === 'failed' || env.status === 'missing')
          throw new ApiError(
            422,
            'environment_failed',
            `environment '${env.name}' ${env.status}: ${env.status_message ?? 'no reason given'}`,
          );
        if (Date.now() > deadline) throw new ApiError(0, 'timeout', `environment '${env.name}' still ${env.status}`);
        if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('cancelled');
        if (changed) continue;
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 2000);
          wake = () => {
            clearTimeout(t);
            resolve();
          };
          opts.signal?.addEventListener('abort', wake, { once: true });
        });
      }
    } finally {
      stream.close();
    }
  }

  /** ws:// URL of a WebSocket endpoint under /api/v1. */
  wsUrl(path: string): string {
    return this.url.replace(/^http/, 'ws') + path;
  }
}

function auditParams(q: Record<string, string | number | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined) p.set(k, String(v));
  return p.toString();
}

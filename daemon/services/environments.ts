// Environment lifecycle: durable (the row is written first, every step is resumable), owner-scoped, evented.
import crypto from 'node:crypto';
import type { Duplex, Readable } from 'node:stream';
import type { Kysely } from 'kysely';
import type { ConnectionInfo, Environment, EnvStatus, User } from '../../common/model';
import { sshAlias } from '../../common/names';
import type { CreateEnvironmentInput, UpdateEnvironmentInput } from '../../common/schemas';
import type { BackendStatus, Driver, EnvRecord, EnvSpec } from '../drivers/driver';
import type { DriverRegistry } from '../drivers/registry';
import { BackendUnavailableError, ConflictError, InputError, NotFoundError, UnprocessableError } from '../errors';
import type { Logger } from '../log';
import { requestOf, type GpuService } from '../gpu/service';
import { EnvironmentRepo, type EnvFilter } from '../store/environments';
import type { SecretBox } from '../secretBox';
import type { Database } from '../store/schema';
import type { AuditRepo } from '../store/users';
import { vncPassword } from '../secretBox';
import { AUTHORIZED_KEYS_PATH, bootFiles, INIT_PATH, JUPYTER_PORT, jupyterPath, RDP_PORT, rdpFile, SSH_PORT, VNC_PORT } from './bootstrap';
import type { EventBus } from './events';
import type { MountPolicy, PlannedMount } from './mounts';
import { generateEd25519, type SshKeyService } from './keys';
import { firstBytes, isRdpConfirm, isSshBanner, RDP_CONNECTION_REQUEST } from '../drivers/probe';

function readAll(s: Readable): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    s.on('data', (c: Buffer) => { out += c.toString(); });
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
}

const ACCESS_LABEL = /^dev\.hangar\.access\.([a-z][a-z0-9-]{0,31})$/;

/** `dev.hangar.access.<protocol>=<port>` labels → what the connection endpoint offers (RStudio, NoMachine, …). */
export function declaredAccess(labels: Record<string, string>): { protocol: string; port: number }[] {
  return Object.entries(labels).flatMap(([k, v]) => {
    const m = ACCESS_LABEL.exec(k);
    const port = Number(v);
    return m && Number.isInteger(port) && port > 0 && port < 65536 ? [{ protocol: m[1], port }] : [];
  }).sort((a, b) => a.protocol.localeCompare(b.protocol));
}

/** The row's facts that go with the backend object (no secrets), so an admin can adopt it after a restore. */
export function recordOf(e: Environment): EnvRecord {
  return {
    name: e.name, owner_id: e.owner_id, image: e.image, image_pull_policy: e.image_pull_policy, deployment_mode: e.deployment_mode,
    environment_type: e.environment_type, gpu_mode: e.gpu_mode, gpu_count: e.gpu_count, gpu_device_ids: e.gpu_device_ids,
    gpu_model: e.gpu_model, gpu_mig_profile: e.gpu_mig_profile, cpu: e.cpu, memory_mb: e.memory_mb, ssh_user: e.ssh_user,
    host_key: e.host_key, storage_type: e.storage_type, storage_config: e.storage_config, network_config: e.network_config,
    lifecycle_policy: e.lifecycle_policy, use_jumpserver: e.use_jumpserver, vnc_port: e.vnc_port, rdp_port: e.rdp_port,
    schedule: e.schedule, command: e.command, created_at: e.created_at,
  };
}

const MODE_FOR_KIND: Record<Driver['kind'], Environment['deployment_mode'][]> = {
  docker: ['docker_local'], kubernetes: ['k8s_pod', 'k8s_stateful', 'k8s_job', 'k8s_cronjob'], libvirt: ['vm'], ssh: ['bare_metal'],
};

export interface EnvironmentServiceOptions {
  db: Kysely<Database>;
  box?: SecretBox;
  gpus: GpuService;
  repo: EnvironmentRepo;
  audit: AuditRepo;
  drivers: DriverRegistry;
  keys: SshKeyService;
  events: EventBus;
  log: Logger;
  /** URL clients reach this gateway at (known once the listener is bound). */
  publicUrl: () => string;
  /** Address a backend publishes ports on (what RDP/VNC clients connect to on that host). */
  publishAddress?: (backendId: string) => string;
  stopTimeoutS: number;
  /** Who may mount what (host_paths allowlist, owned volumes). */
  mounts: MountPolicy;
  vncPorts?: { from: number; to: number };
  rdpPorts?: { from: number; to: number };
}

export class EnvironmentService {
  /** Work in flight per env: one lifecycle operation at a time, and reconcile skips what is busy. */
  private readonly busy = new Map<string, Promise<unknown>>();
  /** The latest watched status of an env that was busy when it came (applied when the operation ends). */
  private readonly deferred = new Map<string, BackendStatus>();
  constructor(private readonly o: EnvironmentServiceOptions) {
    o.keys.onChange((userId) => this.pushAuthorizedKeys(userId));
    o.gpus.onRelease(() => void this.drainQueue());
  }

  // ---- queries ---------------------------------------------------------------------------------------------

  async list(actor: User, f: EnvFilter): Promise<Environment[]> {
    return this.o.repo.list({ ...f, owner_id: actor.role === 'admin' ? f.owner_id : actor.id });
  }

  /** By id or by name; another user's env is "not found" (404), never "forbidden". */
  async get(actor: User, idOrName: string): Promise<Environment> {
    const env = (await this.o.repo.get(idOrName)) ?? (await this.o.repo.findByName(actor.id, idOrName));
    if (!env || (env.owner_id !== actor.id && actor.role !== 'admin')) throw new NotFoundError('environment', idOrName);
    return env;
  }

  async connection(actor: User, idOrName: string): Promise<ConnectionInfo> {
    const env = await this.get(actor, idOrName);
    const secrets = (await this.o.repo.secrets(env.id))!;
    const base = this.o.publicUrl().replace(/\/+$/, '');
    const info: ConnectionInfo = {
      environment_id: env.id,
      name: env.name,
      ssh: {
        user: env.ssh_user,
        host_alias: sshAlias(base, env.name),
        host_key: env.host_key,
        tunnel_path: `/api/v1/environments/${env.id}/tunnel?port=${SSH_PORT}`,
        proxy_command: `hangar proxy --url ${base} ${env.id}`,
      },
    };
    if (secrets.jupyter_token) {
      info.jupyter = { port: JUPYTER_PORT, token: secrets.jupyter_token, url: `${base}${jupyterPath(env.id)}` };
    }
    const declared = await this.o.repo.declaredAccess(env.id);
    if (declared.length) info.declared = declared.map((a) => ({ ...a, tunnel_path: `/api/v1/environments/${env.id}/tunnel?port=${a.port}` }));
    if (env.rdp_port !== null && secrets.rdp_password) {
      const host = this.o.publishAddress?.(env.backend_id) ?? '127.0.0.1';
      info.rdp = { host, port: env.rdp_port, user: env.ssh_user, password: secrets.rdp_password, rdp_file: rdpFile({ host, port: env.rdp_port, user: env.ssh_user, name: env.name }) };
    }
    const driver = env.backend_ref && env.network_config?.expose ? this.o.drivers.get(env.backend_id) : undefined;
    if (driver?.exposure) info.exposed = await driver.exposure(env.backend_ref!).catch(() => undefined);
    if (env.vnc_port !== null || secrets.vnc_password) {
      info.vnc = { port: env.vnc_port, password: secrets.vnc_password, websocket_path: `/api/v1/environments/${env.id}/tunnel?port=${VNC_PORT}` };
    }
    return info;
  }

  // ---- create ----------------------------------------------------------------------------------------------

  async create(actor: User, input: CreateEnvironmentInput): Promise<Environment> {
    const backendId = input.backend_id ?? this.o.drivers.defaultId;
    if (!this.o.drivers.has(backendId)) throw new InputError('backend_id', `backend_id: no backend '${backendId}'`);
    const driver = this.o.drivers.get(backendId);
    if (!MODE_FOR_KIND[driver.kind].includes(input.deployment_mode)) {
      throw new InputError('deployment_mode', `deployment_mode: '${input.deployment_mode}' is not served by backend '${backendId}' (${driver.kind}: ${MODE_FOR_KIND[driver.kind].join(', ')})`);
    }
    if (input.storage_type !== 'local') {
      throw new InputError('storage_type', `storage_type: '${input.storage_type}' is not available on backend '${backendId}' yet (local only)`);
    }
    // Host paths and volumes are checked before anything else: a refused mount never reaches a backend.
    const mounts = await this.o.mounts.plan(actor, backendId, input.storage_config?.mounts ?? []);
    const storageConfig = input.storage_config && (input.storage_config.mounts ? { ...input.storage_config, mounts: mounts.map((m) => m.stored) } : input.storage_config);
    if (await this.o.repo.findByName(actor.id, input.name)) throw new ConflictError(`environment '${input.name}' already exists`);
    // Fail fast, before anything is written: the backend must answer and a 'never' image must be there.
    await driver.info();
    if (input.image_pull_policy === 'never') await driver.ensureImage(input.image, 'never');

    const gpuReq = requestOf({ ...input, gpu_count: input.gpu_count || input.gpu_device_ids.length });
    this.o.gpus.validate(backendId, gpuReq);
    const allocate = gpuReq !== null && this.o.gpus.allocates(backendId);
    if (allocate) await this.o.gpus.ensureInventory(backendId);

    const hostKey = generateEd25519(`hangar-${input.name}`);
    const wantsJupyter = input.environment_type === 'ide' || input.environment_type === 'data_process';
    const desktop = input.environment_type === 'desktop';
    const id = crypto.randomUUID();
    // The backend's own admission (Kubernetes: LimitRange, ResourceQuota) refuses before anything is recorded.
    if (driver.preflight) await driver.preflight(this.previewSpec(id, actor, input, mounts));
    let env: Environment;
    try {
      // The row and its GPU grants commit together: a crash leaves both or neither.
      env = await this.o.db.transaction().execute(async (trx) => {
        const repo = new EnvironmentRepo(trx, this.o.box);
        await this.o.mounts.commit(trx, mounts);
        const vncPort = desktop ? await this.allocatePort(trx, 'vnc_port', backendId, input.vnc_port, this.o.vncPorts ?? { from: 15900, to: 15999 }) : input.vnc_port;
        const rdpPort = desktop ? await this.allocatePort(trx, 'rdp_port', backendId, null, this.o.rdpPorts ?? { from: 13389, to: 13488 }) : null;
        const row = await repo.insert({
          id, name: input.name, owner_id: actor.id,
          deployment_mode: input.deployment_mode, environment_type: input.environment_type, gpu_mode: input.gpu_mode,
          storage_type: input.storage_type, storage_config: storageConfig, lifecycle_policy: input.lifecycle_policy,
          network_config: input.network_config, use_jumpserver: input.use_jumpserver,
          vnc_port: vncPort, vnc_password: desktop ? vncPassword() : null,
          rdp_port: rdpPort, rdp_password: desktop ? crypto.randomBytes(12).toString('base64url') : null, jupyter_token: wantsJupyter ? crypto.randomBytes(24).toString('hex') : null,
          backend_id: backendId, backend_ref: null, image: input.image, image_pull_policy: input.image_pull_policy,
          cpu: input.cpu, memory_mb: input.memory_mb, gpu_count: input.gpu_count || input.gpu_device_ids.length,
          gpu_device_ids: input.gpu_device_ids, gpu_model: input.gpu_model, gpu_mig_profile: input.gpu_mig_profile,
          env_vars: input.env_vars, ssh_user: input.ssh_user,
          env_vars_from_secrets: input.env_vars_from_secrets, schedule: input.schedule, command: input.command,
          host_key: hostKey.publicKey, status: 'creating', status_message: null,
        });
        if (!allocate) return row;
        try {
          const granted = await this.o.gpus.grantIn(trx, id, backendId, gpuReq!);
          return (await repo.update(id, { gpu_device_ids: granted }))!;
        } catch (err) {
          if (!(input.gpu_wait && err instanceof ConflictError)) throw err;
          // Asked to wait: queued (pending, nothing made) until GPUs free up; drainQueue takes it from there.
          return (await repo.update(id, { status: 'pending', status_message: `waiting for GPUs: ${err.message.replace(/^no GPU fits: /, '')}` }))!;
        }
      });
    } catch (err) {
      if (/UNIQUE constraint failed: environments\.backend_id, environments\.vnc_port/.test(String(err))) throw new ConflictError(`vnc_port ${input.vnc_port} is already used on backend '${backendId}'`);
      if (/UNIQUE constraint failed: environments/.test(String(err))) throw new ConflictError(`environment '${input.name}' already exists`);
      throw err;
    }
    await this.o.audit.record({ user_id: actor.id, action: 'environment.create', target: env.id, detail: { name: env.name, image: env.image, backend: backendId } });
    this.o.events.publish({ type: 'environment.created', environment_id: env.id, owner_id: env.owner_id, status: env.status });
    if (env.status === 'pending') return env; // queued for GPUs
    this.track(env.id, () => this.provision(env.id, hostKey.privateKey));
    return env;
  }

  private draining?: Promise<void>;
  private drainAgain = false;

  /** Envs queued for GPUs (gpu_wait), oldest first: each that fits now gets its grants and is provisioned. A smaller
   *  request behind a big one may go first (backfill) rather than leave GPUs idle. Runs on every release. */
  drainQueue(): Promise<void> {
    // A release during a pass may free what that pass already looked at: run once more after it.
    if (this.draining) {
      this.drainAgain = true;
      return this.draining;
    }
    this.draining = (async () => {
      const queued = (await this.o.repo.list({ status: ['pending'] }))
        .filter((e) => !e.backend_ref && e.gpu_mode !== 'none' && !this.busy.has(e.id) && this.o.gpus.allocates(e.backend_id))
        .sort((a, b) => a.created_at.localeCompare(b.created_at));
      for (const e of queued) {
        const granted = await this.o.db.transaction().execute(async (trx) => {
          const cur = await new EnvironmentRepo(trx, this.o.box).get(e.id);
          if (cur?.status !== 'pending' || cur.backend_ref) return null;
          return this.o.gpus.grantIn(trx, e.id, e.backend_id, requestOf(e)!).catch((err) => {
            if (err instanceof ConflictError) return null;
            throw err;
          });
        });
        if (!granted) continue;
        await this.o.repo.update(e.id, { gpu_device_ids: granted });
        await this.setStatus(e, ['pending'], 'creating');
        this.track(e.id, () => this.provision(e.id));
      }
    })().catch((err) => this.o.log.error({ err: String(err) }, 'GPU queue not drained')).finally(() => {
      this.draining = undefined;
      if (this.drainAgain) {
        this.drainAgain = false;
        void this.drainQueue();
      }
    });
    return this.draining;
  }

  /** First free port of the range on this backend (or the one asked for); a unique index backs it up. */
  private async allocatePort(trx: Kysely<Database>, column: 'vnc_port' | 'rdp_port', backendId: string, wanted: number | null, range: { from: number; to: number }): Promise<number> {
    if (wanted !== null) return wanted;
    const used = new Set((await trx.selectFrom('environments').select(column).where('backend_id', '=', backendId).where(column, 'is not', null).execute()).map((r) => r[column]));
    for (let p = range.from; p <= range.to; p++) if (!used.has(p)) return p;
    throw new ConflictError(`no free ${column === 'vnc_port' ? 'VNC' : 'RDP'} port on backend '${backendId}' (range ${range.from}-${range.to} is full)`);
  }

  /** Resumable: each step checks what already exists (image, container by label, recorded ref). */
  private async provision(id: string, hostPrivateKey?: string): Promise<void> {
    let env = await this.o.repo.get(id);
    if (!env) return;
    const driver = this.o.drivers.get(env.backend_id);
    try {
      await driver.ensureImage(env.image, env.image_pull_policy, (m) => this.o.log.debug({ env: id, m }, 'image'));
      if (driver.imageLabels) await this.o.repo.setDeclaredAccess(id, declaredAccess(await driver.imageLabels(env.image)));
      let ref = env.backend_ref ?? (await driver.findByEnvId(id));
      if (ref && !hostPrivateKey && (await driver.inspect(ref)).state === 'created') {
        // Made but never started before the crash: its boot files may never have been written. Start over.
        await driver.delete(ref);
        await this.o.repo.update(id, { backend_ref: null });
        ref = undefined;
      }
      if (!ref) {
        // A resumed create lost the private host key with the old process: make a new pair (nothing used it yet).
        let privateKey = hostPrivateKey;
        if (!privateKey) {
          const k = generateEd25519(`hangar-${env.name}`);
          privateKey = k.privateKey;
          env = (await this.o.repo.update(id, { host_key: k.publicKey }))!;
        }
        ref = await driver.create({ ...(await this.spec(env, privateKey)), startNow: true });
      }
      await this.o.repo.update(id, { backend_ref: ref });
      await this.setStatus(env, ['creating'], 'starting');
      if (!hostPrivateKey && (await driver.inspect(ref)).state === 'running') {
        // Resumed after a crash that may have cut a start short (dockerd can leave such a container without its
        // network): restart it into a known state rather than trust it.
        await driver.restart(ref, this.o.stopTimeoutS);
      } else {
        await driver.start(ref);
      }
      await this.settle(env, await this.waitForSsh(driver, ref));
    } catch (err) {
      if (err instanceof BackendUnavailableError) {
        // Keep the row as it is: reconcile resumes when the backend is back.
        await this.o.repo.update(id, { status_message: err.message });
        this.o.log.warn({ env: id, err: err.message }, 'provisioning paused: backend unavailable');
        return;
      }
      this.o.log.error({ env: id, err: String(err) }, 'provisioning failed');
      // Nothing half-made stays behind: remove what was created, keep the row as failed with the reason.
      const ref = (await this.o.repo.get(id))?.backend_ref ?? (await driver.findByEnvId(id).catch(() => undefined));
      if (ref) await driver.delete(ref).catch(() => undefined);
      await this.o.repo.update(id, { backend_ref: null });
      await this.o.gpus.release(id);
      await this.setStatus(env, ['creating', 'starting'], 'failed', err instanceof Error ? err.message : String(err));
    }
  }

  private async spec(env: Environment, hostPrivateKey: string): Promise<EnvSpec> {
    const secrets = (await this.o.repo.secrets(env.id))!;
    return {
      envId: env.id, name: env.name, owner: env.owner_id, image: env.image, pullPolicy: env.image_pull_policy,
      deploymentMode: env.deployment_mode, gpuModel: env.gpu_model, gpuProfile: env.gpu_mig_profile,
      cpu: env.cpu, memoryMb: env.memory_mb, env: env.env_vars,
      ports: [
        ...(env.network_config?.ports?.map((p) => ({ ...p, host_ip: p.host_ip ?? env.network_config?.host_ip })) ?? []),
        // The allocated vnc_port, published on the backend host (127.0.0.1 unless configured) for VNC clients there.
        ...(env.vnc_port !== null && secrets.vnc_password ? [{ container_port: VNC_PORT, host_port: env.vnc_port }] : []),
        ...(env.rdp_port !== null && secrets.rdp_password ? [{ container_port: RDP_PORT, host_port: env.rdp_port }] : []),
      ],
      mounts: this.o.mounts.toSpec(env.storage_config?.mounts ?? []),
      gpus: { mode: env.gpu_mode, deviceIds: env.gpu_device_ids, count: env.gpu_count },
      files: bootFiles({
        user: env.ssh_user, authorizedKeys: await this.o.keys.authorizedKeys(env.owner_id),
        hostPrivateKey, hostPublicKey: env.host_key!, envVars: env.env_vars, jupyterToken: secrets.jupyter_token, vncPassword: secrets.vnc_password, rdpPassword: secrets.rdp_password,
        jupyterBaseUrl: jupyterPath(env.id),
        volumeDirs: (env.storage_config?.mounts ?? []).filter((m) => m.type === 'volume' && !m.read_only).map((m) => m.target),
      }),
      command: ['/bin/sh', INIT_PATH],
      team: await this.teamOf(env.owner_id), secretEnv: env.env_vars_from_secrets, expose: env.network_config?.expose,
      schedule: env.schedule, runCommand: env.command, record: recordOf(env),
    };
  }

  private async teamOf(userId: string): Promise<string | null> {
    return (await this.o.db.selectFrom('users').select('team').where('id', '=', userId).executeTakeFirst())?.team ?? null;
  }

  /** What a create will ask of the backend, before anything is recorded (no boot files yet): for preflight(). */
  private previewSpec(id: string, actor: User, input: CreateEnvironmentInput, mounts: PlannedMount[]): EnvSpec {
    return {
      envId: id, name: input.name, owner: actor.id, team: actor.team ?? null, image: input.image, pullPolicy: input.image_pull_policy,
      deploymentMode: input.deployment_mode, gpuModel: input.gpu_model, gpuProfile: input.gpu_mig_profile,
      cpu: input.cpu, memoryMb: input.memory_mb, env: input.env_vars, secretEnv: input.env_vars_from_secrets,
      ports: input.network_config?.ports ?? [], expose: input.network_config?.expose, mounts: mounts.map((m) => m.spec),
      gpus: { mode: input.gpu_mode, deviceIds: input.gpu_device_ids, count: input.gpu_count || input.gpu_device_ids.length },
      files: [], command: ['/bin/sh', INIT_PATH], schedule: input.schedule, runCommand: input.command,
    };
  }

  /** Where a start ends: running, or what the backend settled for — pending (not placed yet: its watch reports
   *  when it is; news that came during this operation waits in `deferred`), or a Job that already ended (stopped
   *  "completed" / failed). */
  private async settle(env: Pick<Environment, 'id' | 'owner_id'>, st: BackendStatus | void): Promise<void> {
    const to: EnvStatus = !st ? 'running' : st.state === 'pending' || st.state === 'stopped' || st.state === 'failed' ? st.state : 'running';
    await this.setStatus(env, ['starting'], to, st?.message ?? null);
    if (to === 'stopped' || to === 'failed') await this.o.gpus.release(env.id);
  }

  /** "running" means SSH answers: wait for sshd's banner (the container may exit instead: then say why). */
  private async waitForSsh(driver: Driver, ref: string, timeoutMs = driver.readyTimeoutMs ?? 60_000): Promise<BackendStatus | void> {
    if (driver.waitReady) return driver.waitReady(ref);
    // What "ready" means is the image's business: sshd (the default), an RDP listener (a Windows VM), or just running.
    const probe = (await driver.readiness?.(ref)) ?? 'ssh';
    const deadline = Date.now() + timeoutMs;
    let last = '';
    let noAddressSince = 0;
    let restarted = false;
    let delay = 50;
    while (Date.now() < deadline) {
      const st = await driver.inspect(ref);
      if (st.state !== 'running') {
        const logs = await driver.logs(ref, { tail: 5 }).then(readAll).catch(() => '');
        throw new UnprocessableError(`environment exited during start-up (${st.message ?? st.state})${logs ? ': ' + logs.trim().split('\n').slice(-3).join(' | ') : ''}`);
      }
      if (probe === 'running') return;
      try {
        const answer = await firstBytes(await driver.openPort(ref, probe === 'ssh' ? SSH_PORT : RDP_PORT), probe === 'rdp' ? RDP_CONNECTION_REQUEST : undefined);
        if (probe === 'ssh' ? isSshBanner(answer) : isRdpConfirm(answer)) return;
        last = `unexpected answer ${JSON.stringify(answer.toString('latin1').slice(0, 40))}`;
      } catch (err) {
        last = (err as Error).message;
        // A start cut short (client gone mid-request, e.g. a daemon crash) can leave dockerd running the container
        // without its network. One restart repairs it.
        if (/no network address/.test(last)) {
          noAddressSince ||= Date.now();
          if (!restarted && Date.now() - noAddressSince > 3000) {
            restarted = true;
            this.o.log.warn({ ref }, 'running without a network address: restarting it');
            await driver.restart(ref, this.o.stopTimeoutS);
          }
        }
      }
      // Containers answer within tens of ms; a booting VM takes a minute: back off up to half a second.
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 1.5, 500);
    }
    throw new UnprocessableError(`${probe === 'ssh' ? 'sshd' : 'RDP'} did not answer within ${timeoutMs / 1000} s: ${last}`);
  }

  // ---- actions ---------------------------------------------------------------------------------------------

  async start(actor: User, idOrName: string): Promise<Environment> {
    const env = await this.get(actor, idOrName);
    return this.exclusive(env.id, async () => {
      const cur = (await this.o.repo.get(env.id))!;
      if (cur.status === 'running' || cur.status === 'pending') return cur;
      if (cur.status === 'failed' && !cur.backend_ref) {
        await this.setStatus(cur, ['failed'], 'creating');
        await this.provision(cur.id);
        return (await this.o.repo.get(env.id))!;
      }
      if (!cur.backend_ref || !['stopped', 'failed', 'missing'].includes(cur.status)) {
        throw new ConflictError(`environment '${cur.name}' is ${cur.status}`);
      }
      if (cur.status === 'missing') throw new ConflictError(`environment '${cur.name}' was removed from backend '${cur.backend_id}'; delete it and create it again`);
      const driver = this.o.drivers.get(cur.backend_id);
      await driver.info();
      // The GPUs were released at stop: take the same ones back, or say who holds them now.
      await this.o.gpus.reacquire(cur);
      await this.setStatus(cur, ['stopped', 'failed'], 'starting');
      let settled: BackendStatus | void;
      try {
        await driver.start(cur.backend_ref);
        settled = await this.waitForSsh(driver, cur.backend_ref);
      } catch (err) {
        await this.o.gpus.release(cur.id);
        await this.setStatus(cur, ['starting'], err instanceof BackendUnavailableError ? 'stopped' : 'failed', (err as Error).message);
        throw err;
      }
      await this.settle(cur, settled);
      await this.o.audit.record({ user_id: actor.id, action: 'environment.start', target: env.id });
      return (await this.o.repo.get(env.id))!;
    });
  }

  async stop(actor: User, idOrName: string): Promise<Environment> {
    const env = await this.get(actor, idOrName);
    return this.exclusive(env.id, async () => {
      const cur = (await this.o.repo.get(env.id))!;
      if (cur.status === 'stopped') return cur;
      if (cur.status === 'pending' && !cur.backend_ref) throw new ConflictError(`environment '${cur.name}' is queued for GPUs (${cur.status_message}); delete it to leave the queue`);
      if ((cur.status !== 'running' && cur.status !== 'pending') || !cur.backend_ref) throw new ConflictError(`environment '${cur.name}' is ${cur.status}`);
      const driver = this.o.drivers.get(cur.backend_id);
      await driver.info();
      await this.setStatus(cur, ['running', 'pending'], 'stopping');
      try {
        await driver.stop(cur.backend_ref, this.o.stopTimeoutS);
      } catch (err) {
        await this.setStatus(cur, ['stopping'], cur.status, (err as Error).message);
        throw err;
      }
      await this.setStatus(cur, ['stopping'], 'stopped');
      await this.o.gpus.release(cur.id);
      await this.o.audit.record({ user_id: actor.id, action: 'environment.stop', target: env.id });
      return (await this.o.repo.get(env.id))!;
    });
  }

  async restart(actor: User, idOrName: string): Promise<Environment> {
    const env = await this.get(actor, idOrName);
    if (env.status !== 'running') return this.start(actor, env.id);
    return this.exclusive(env.id, async () => {
      const driver = this.o.drivers.get(env.backend_id);
      await driver.info();
      await this.setStatus(env, ['running'], 'starting');
      let settled: BackendStatus | void;
      try {
        await driver.restart(env.backend_ref!, this.o.stopTimeoutS);
        settled = await this.waitForSsh(driver, env.backend_ref!);
      } catch (err) {
        await this.setStatus(env, ['starting'], err instanceof BackendUnavailableError ? 'running' : 'failed', (err as Error).message);
        throw err;
      }
      await this.settle(env, settled);
      await this.o.audit.record({ user_id: actor.id, action: 'environment.restart', target: env.id });
      return (await this.o.repo.get(env.id))!;
    });
  }

  async update(actor: User, idOrName: string, patch: UpdateEnvironmentInput): Promise<Environment> {
    const env = await this.get(actor, idOrName);
    const updated = (await this.o.repo.update(env.id, patch))!;
    await this.o.audit.record({ user_id: actor.id, action: 'environment.update', target: env.id, detail: Object.keys(patch) });
    this.o.events.publish({ type: 'environment.updated', environment_id: env.id, owner_id: env.owner_id, status: updated.status });
    return updated;
  }

  async delete(actor: User, idOrName: string): Promise<void> {
    const env = await this.get(actor, idOrName);
    // A create still in flight finishes (or fails) first, so its container can't appear after the delete.
    await this.busy.get(env.id)?.catch(() => undefined);
    await this.exclusive(env.id, async () => {
      const driver = this.o.drivers.get(env.backend_id);
      await driver.info();
      const cur = (await this.o.repo.get(env.id))!;
      await this.setStatus(cur, [cur.status], 'deleting');
      await this.o.audit.record({ user_id: actor.id, action: 'environment.delete', target: env.id, detail: { name: env.name } });
      await this.finishDelete(cur.id);
    });
  }

  /** Resumable: removes the backend object (by ref or by label), then the row. */
  private async finishDelete(id: string): Promise<void> {
    const env = await this.o.repo.get(id);
    if (!env) return;
    const driver = this.o.drivers.get(env.backend_id);
    const ref = env.backend_ref ?? (await driver.findByEnvId(id));
    if (ref) await driver.delete(ref);
    await this.o.gpus.release(id);
    await this.o.repo.delete(id);
    this.o.events.publish({ type: 'environment.deleted', environment_id: id, owner_id: env.owner_id, status: 'deleting' });
  }

  // ---- streams ---------------------------------------------------------------------------------------------

  async logs(actor: User, idOrName: string, opts: { tail?: number; follow?: boolean; signal?: AbortSignal }): Promise<Readable> {
    const env = await this.get(actor, idOrName);
    if (!env.backend_ref) throw new ConflictError(`environment '${env.name}' has no container yet (${env.status})`);
    return this.o.drivers.get(env.backend_id).logs(env.backend_ref, opts);
  }

  /** Raw TCP to a port of a running env: the far end of the WebSocket tunnel. */
  async openTunnel(actor: User, idOrName: string, port: number, opts: { audit?: boolean } = {}): Promise<Duplex> {
    const env = await this.get(actor, idOrName);
    if (env.status !== 'running' || !env.backend_ref) throw new ConflictError(`environment '${env.name}' is ${env.status}; start it first`);
    if (opts.audit !== false) await this.o.audit.record({ user_id: actor.id, action: 'tunnel.open', target: env.id, detail: { port } });
    try {
      return await this.o.drivers.get(env.backend_id).openPort(env.backend_ref, port);
    } catch (err) {
      if (err instanceof BackendUnavailableError || err instanceof UnprocessableError) throw err;
      throw new UnprocessableError(`port ${port} of '${env.name}' is not reachable: ${(err as Error).message}`, 'port_unreachable');
    }
  }

  /** The Jupyter token (injected by the proxy so the gateway's own auth is the only one a user meets). */
  async jupyterToken(actor: User, idOrName: string): Promise<string> {
    const env = await this.get(actor, idOrName);
    const t = (await this.o.repo.secrets(env.id))?.jupyter_token;
    if (!t) throw new ConflictError(`environment '${env.name}' does not run Jupyter (environment_type ${env.environment_type})`);
    return t;
  }

  /** A new Jupyter token or VNC password: written into the env, which restarts with it; the old one stops working. */
  async rotateSecret(actor: User, idOrName: string, secret: 'jupyter_token' | 'vnc_password' | 'rdp_password'): Promise<ConnectionInfo> {
    const env = await this.get(actor, idOrName);
    if (!(await this.o.repo.secrets(env.id))?.[secret]) throw new ConflictError(`environment '${env.name}' has no ${secret}`);
    const value = secret === 'jupyter_token' ? crypto.randomBytes(24).toString('hex') : secret === 'vnc_password' ? vncPassword() : crypto.randomBytes(12).toString('base64url');
    await this.o.repo.update(env.id, { [secret]: value });
    if (env.backend_ref) {
      const file = { path: `/.hangar/${secret}`, content: secret === 'jupyter_token' ? value : value + '\n' };
      await this.o.drivers.get(env.backend_id).writeFiles(env.backend_ref, [{ ...file, mode: 0o600 }]);
      if (env.status === 'running') await this.restart(actor, env.id);
    }
    await this.o.audit.record({ user_id: actor.id, action: 'environment.rotate_secret', target: env.id, detail: { secret } });
    return this.connection(actor, env.id);
  }

  // ---- reconciliation hooks (see reconciler.ts) ------------------------------------------------------------

  isBusy(id: string): boolean { return this.busy.has(id); }
  resumeProvision(id: string): void { if (!this.busy.has(id)) this.track(id, () => this.provision(id)); }
  resumeStart(id: string): void {
    if (this.busy.has(id)) return;
    this.track(id, async () => {
      const env = (await this.o.repo.get(id))!;
      const driver = this.o.drivers.get(env.backend_id);
      try {
        if ((await driver.inspect(env.backend_ref!)).state === 'running') await driver.restart(env.backend_ref!, this.o.stopTimeoutS);
        else await driver.start(env.backend_ref!);
        await this.settle(env, await this.waitForSsh(driver, env.backend_ref!));
      } catch (err) {
        if (err instanceof BackendUnavailableError) return; // stays 'starting'; the next pass retries
        await this.o.gpus.release(id);
        await this.setStatus(env, ['starting'], 'failed', (err as Error).message);
      }
    });
  }
  /** A status change a backend's watch pushed (see Driver.watch). An env with an operation in flight keeps the
   *  news until it ends; only settled states move (compare-and-set), so a watch never undoes what an operation did. */
  async observe(id: string, st: BackendStatus): Promise<void> {
    if (this.busy.has(id)) { this.deferred.set(id, st); return; }
    const env = await this.o.repo.get(id);
    if (!env?.backend_ref) return;
    const settled: EnvStatus[] = ['running', 'pending', 'stopped', 'failed'];
    const moves: Partial<Record<BackendStatus['state'], { from: EnvStatus[]; message: string | null }>> = {
      running: { from: settled, message: st.message ?? null },
      pending: { from: ['running', 'pending'], message: st.message ?? null },
      stopped: { from: ['running', 'pending'], message: st.message ?? 'stopped outside Hangar' },
      failed: { from: ['running', 'pending'], message: st.message ?? null },
      missing: { from: settled, message: `removed from backend '${env.backend_id}' outside Hangar` },
    };
    const move = moves[st.state];
    if (!move || !move.from.includes(env.status)) return;
    const to = st.state as EnvStatus;
    // Same status: only news (a new scheduler message, a CronJob's last run) is worth an update.
    if (env.status === to && (st.message === undefined || env.status_message === move.message)) return;
    if (await this.setStatus(env, [env.status], to, move.message) && (to === 'stopped' || to === 'failed' || to === 'missing')) await this.o.gpus.release(id);
  }

  resumeDelete(id: string): void { if (!this.busy.has(id)) this.track(id, () => this.finishDelete(id)); }
  /** Settles when no lifecycle work is in flight (tests, shutdown). */
  async idle(): Promise<void> { while (this.busy.size) await Promise.allSettled([...this.busy.values()]); }

  async setStatus(env: Pick<Environment, 'id' | 'owner_id'>, from: EnvStatus[], to: EnvStatus, message: string | null = null): Promise<boolean> {
    const ok = await this.o.repo.transition(env.id, from, to, message);
    if (ok) this.o.events.publish({ type: 'environment.status', environment_id: env.id, owner_id: env.owner_id, status: to, message });
    return ok;
  }

  private async pushAuthorizedKeys(userId: string): Promise<void> {
    const keys = await this.o.keys.authorizedKeys(userId);
    for (const env of await this.o.repo.list({ owner_id: userId })) {
      if (!env.backend_ref) continue;
      await this.o.drivers.get(env.backend_id)
        .writeFiles(env.backend_ref, [{ path: AUTHORIZED_KEYS_PATH, content: keys, mode: 0o644 }])
        .catch((err) => this.o.log.warn({ env: env.id, err: String(err) }, 'authorized_keys not updated; it will be at next start'));
    }
  }

  private track(id: string, fn: () => Promise<void>): void {
    const p = fn().catch((err) => this.o.log.error({ env: id, err: String(err) }, 'background work failed'))
      .finally(() => { if (this.busy.get(id) === p) this.done(id); });
    this.busy.set(id, p);
  }

  /** The operation on `id` ended: a watched change that came meanwhile applies now. */
  private done(id: string): void {
    this.busy.delete(id);
    const st = this.deferred.get(id);
    this.deferred.delete(id);
    if (st) void this.observe(id, st).catch((err) => this.o.log.error({ env: id, err: String(err) }, 'watched status not applied'));
  }

  /** Runs one lifecycle operation on an env; a second one at the same time is a 409. */
  async exclusive<T>(id: string, fn: () => Promise<T>): Promise<T> {
    if (this.busy.has(id)) throw new ConflictError('another operation on this environment is in progress');
    const p = fn();
    const settled = p.catch(() => undefined);
    this.busy.set(id, settled);
    try {
      return await p;
    } finally {
      if (this.busy.get(id) === settled) this.done(id);
    }
  }
}

// The environment lifecycle's facade: durable (the row is written first, every step is resumable), owner-scoped,
// evented. Each operation lives in a part of this folder; the parts get narrow collaborators, never this class.
import type { Duplex, Readable } from 'node:stream';
import type { Kysely } from 'kysely';
import type { ConnectionInfo, DatasetsSynced, EnvActivity, Environment, User } from '../../common/model';
import { syncDatasetsBack } from './datasetSyncBack';
import type { CreateEnvironmentInput, UpdateEnvironmentInput } from '../../common/schemas';
import type { BackendStatus, Backends } from '../contract';
import { BackendUnavailableError, ConflictError, ForbiddenError, UnprocessableError } from '../errors';
import type { GpuService } from '../gpu/service';
import type { Logger } from '../log';
import type { SecretBox } from '../secretBox';
import type { EventBus } from '../services/events';
import type { SshKeyService } from '../services/keys';
import type { EnvFilter, EnvironmentRepo } from '../store/environments';
import type { JupyterAccess } from '../store/jupyterTokens';
import type { Database } from '../store/schema';
import type { AuditRepo } from '../store/users';
import * as actions from './actions';
import type { ActionContext } from './actions';
import { connectionInfo, type ConnectionDeps } from './connection';
import { createEnvironment, type CreateDeps } from './create';
import { GpuQueue } from './gpuQueue';
import { OperationLock } from './lock';
import type { MountPolicy } from './mounts';
import { observe } from './observe';
import type { PortRange } from './ports';
import type { TeamQuotas } from '../profiles/quota';
import type { ProfileOrigin } from '../profiles/resolve';
import { finishDelete, provision, resumeStart } from './provision';
import { getFor, jupyterFor, listFor, pageFor, type EnvPage } from './queries';
import { pushAuthorizedKeys, rotate, type RotatableSecret } from './secrets';
import { specBuilder, type SpecDeps } from './spec';
import { setStatus, type EnvKey } from './status';
import type { EnvStatus } from '../../common/model';
import { Activity, kindOfPort } from './activity';
import { Autopilot } from './autopilot';
import { UsageMeter } from './usage';
import { GpuUsageRepo } from '../store/gpuUsage';
import { systemClock, type Clock } from './clock';
import { extend, startOnConnect, withNextAction, type LifecycleDeps } from './lifecycle';
import type { AgentPayload } from '../contract';
import type { SshServer } from '../../common/model';
import { agentPayload, defaultAgentDir } from './agentBinary';
import { checkEphemeralMounts, checkLifecycleInput, NO_RULES, type LifecycleRules } from './policy';
import type { RegistrationHooks } from './hooks';
import type { DatasetAttachments } from './datasetMounts';
import { AgentSessions } from './agentSessions';
import crypto from 'node:crypto';

export interface EnvironmentServiceOptions {
  db: Kysely<Database>;
  box?: SecretBox;
  gpus: GpuService;
  repo: EnvironmentRepo;
  audit: AuditRepo;
  backends: Backends;
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
  vncPorts?: PortRange;
  rdpPorts?: PortRange;
  /** Team quotas, checked at create and at start. */
  quotas?: TeamQuotas;
  /** Lifecycle policies: defaults and limits (config `lifecycle`), the clock deadlines use (tests move it). */
  lifecycle?: LifecycleRules;
  clock?: Clock;
  startOnConnectTimeoutS?: number;
  /** JumpServer (services/jumpserver.ts), when configured: told of every create, switch, stop, start and delete. */
  registry?: RegistrationHooks;
  envKeys?: (envId: string) => Promise<string | undefined>;
  /** hangar-agent for ssh_server agent envs (default: beside the bundle), and the default when a create says none. */
  agent?: AgentPayload;
  defaultSshServer?: SshServer;
  /** Host-side dataset mounts (datasetMounts.ts), where the gateway's host runs Docker envs; and the scoped
   *  credentials of envs that mount datasets themselves (datasetAccess.ts). */
  datasets?: DatasetAttachments;
  datasetSources?: SpecDeps['datasetSources'];
}

export class EnvironmentService {
  private readonly lock: OperationLock;
  private readonly ctx: ActionContext;
  private readonly queue: GpuQueue;
  private readonly createDeps: CreateDeps;
  private readonly connectionDeps: ConnectionDeps;
  private readonly life: LifecycleDeps;
  private readonly rules: LifecycleRules;
  /** Open connections and GPU readings (counted where tunnels pass: openTunnel). */
  readonly activity: Activity;
  /** The policy loop (server.ts starts it; tests call tick()). */
  readonly autopilot: Autopilot;
  /** hangar-agent's own counts of what is open in its env (sessions that bypass the gateway count too). */
  private readonly agents: AgentSessions;

  constructor(private readonly o: EnvironmentServiceOptions) {
    this.lock = new OperationLock({ log: o.log });
    this.agents = new AgentSessions(o.backends, o.box?.derive('agent-status') ?? crypto.randomBytes(32));
    this.ctx = {
      repo: o.repo,
      backends: o.backends,
      events: o.events,
      log: o.log,
      lock: this.lock,
      gpus: o.gpus,
      stopTimeoutS: o.stopTimeoutS,
      datasets: o.datasets,
      audit: o.audit,
      quotas: o.quotas,
      specOf: specBuilder({
        ...{ db: o.db, repo: o.repo, keys: o.keys, mounts: o.mounts, envKeys: o.envKeys },
        datasetSources: o.datasetSources,
        agent: o.agent ?? agentPayload(defaultAgentDir()),
        statusKey: this.agents.publicKey,
      }),
    };
    this.queue = new GpuQueue({ ctx: this.ctx, db: o.db, box: o.box });
    this.createDeps = {
      ...{ db: o.db, box: o.box, repo: o.repo, backends: o.backends, gpus: o.gpus, mounts: o.mounts },
      ...{ vncPorts: o.vncPorts, rdpPorts: o.rdpPorts, quotas: o.quotas, defaultSshServer: o.defaultSshServer },
      agent: o.agent ?? agentPayload(defaultAgentDir()),
    };
    this.connectionDeps = {
      repo: o.repo,
      backends: o.backends,
      publicUrl: o.publicUrl,
      publishAddress: o.publishAddress,
      jumpserverRoute: o.registry ? (env) => o.registry!.route(env) : undefined,
      directRefused: o.registry ? (env) => o.registry!.directRefused(env) : undefined,
    };
    const clock = o.clock ?? systemClock;
    this.rules = o.lifecycle ?? NO_RULES;
    this.activity = new Activity({ repo: o.repo, clock });
    this.autopilot = new Autopilot({
      ctx: this.ctx,
      db: o.db,
      activity: this.activity,
      clock,
      rules: this.rules,
      agents: this.agents,
      usage: new UsageMeter({ repo: new GpuUsageRepo(o.db), clock }),
    });
    this.life = {
      ctx: this.ctx,
      autopilot: this.autopilot,
      clock,
      startOnConnectTimeoutS: o.startOnConnectTimeoutS ?? 300,
    };
    o.keys.onChange((userId) => pushAuthorizedKeys({ ...this.ctx, keys: o.keys, envKeys: o.envKeys }, userId));
    o.gpus.onRelease(() => void this.drainQueue());
  }

  // ---- queries ---------------------------------------------------------------------------------------------

  async list(actor: User, f: EnvFilter): Promise<Environment[]> {
    return withNextAction(this.life, await listFor(this.o.repo, actor, f));
  }
  /** One page of the stable order (GET /environments?limit=&cursor=). */
  async listPage(actor: User, f: EnvFilter & { limit: number; cursor?: string }): Promise<EnvPage> {
    const page = await pageFor(this.o.repo, actor, f);
    return { ...page, envs: await withNextAction(this.life, page.envs, page.times) };
  }
  async get(actor: User, idOrName: string): Promise<Environment> {
    return (await withNextAction(this.life, [await getFor(this.o.repo, actor, idOrName)]))[0];
  }

  /** Pushes the next automatic stop out (`hangar extend`). */
  async extend(actor: User, idOrName: string, minutes: number): Promise<Environment> {
    await extend(this.life, actor, await this.get(actor, idOrName), minutes);
    return this.get(actor, idOrName);
  }

  /** What is open in the env now: tunnels through this gateway by kind, and the agent's sessions by kind. */
  async activityOf(actor: User, idOrName: string): Promise<EnvActivity> {
    const env = await this.get(actor, idOrName);
    return { gateway: this.activity.kinds(env.id), agent: await this.agents.status(env) };
  }

  async connection(actor: User, idOrName: string): Promise<ConnectionInfo> {
    return connectionInfo(this.connectionDeps, await this.get(actor, idOrName));
  }

  // ---- lifecycle -------------------------------------------------------------------------------------------

  /** `origin`: the profile it is made from (recorded with the row). */
  async create(actor: User, input: CreateEnvironmentInput, origin?: ProfileOrigin): Promise<Environment> {
    checkLifecycleInput(this.rules, actor, input.lifecycle_policy, input.lifecycle_config);
    checkEphemeralMounts(input.lifecycle_policy, input.storage_config?.mounts);
    await this.o.registry?.admit(Boolean(input.use_jumpserver));
    const { env, hostPrivateKey } = await createEnvironment(this.createDeps, actor, input, origin);
    if (env.use_jumpserver) await this.registerOrUndo(actor, env);
    await this.o.audit.record({
      user_id: actor.id,
      action: 'environment.create',
      target: env.id,
      detail: { name: env.name, image: env.image, backend: env.backend_id, profile: origin?.profile },
    });
    this.o.events.publish({
      type: 'environment.created',
      environment_id: env.id,
      owner_id: env.owner_id,
      status: env.status,
    });
    if (env.status === 'pending') return env; // queued for GPUs
    this.lock.track(env.id, () => provision(this.ctx, env.id, hostPrivateKey));
    return env;
  }

  /** Envs queued for GPUs get their turn (see gpuQueue.ts); runs on every release. */
  drainQueue(): Promise<void> {
    return this.queue.drain();
  }

  /** Registration the policy requires failed: the env goes again (nothing half-made), then the 503. */
  private async registerOrUndo(actor: User, env: Environment): Promise<void> {
    try {
      await this.o.registry?.sync(env);
    } catch (err) {
      // Nothing was provisioned yet: the row and its GPU reservations go; JumpServer's objects were undone already.
      await finishDelete(this.ctx, env.id);
      await this.o.registry?.removed(env.id);
      throw err;
    }
  }

  async start(actor: User, idOrName: string): Promise<Environment> {
    const env = await actions.start(this.ctx, actor, await this.get(actor, idOrName));
    await this.o.registry?.active(env, true);
    return env;
  }
  async stop(actor: User, idOrName: string): Promise<Environment> {
    const env = await actions.stop(this.ctx, actor, await this.get(actor, idOrName));
    await this.o.registry?.active(env, false);
    return env;
  }
  async restart(actor: User, idOrName: string): Promise<Environment> {
    return actions.restart(this.ctx, actor, await this.get(actor, idOrName));
  }
  async delete(actor: User, idOrName: string): Promise<void> {
    const env = await this.get(actor, idOrName);
    await actions.remove(this.ctx, actor, env);
    await this.o.registry?.removed(env.id);
  }

  async update(actor: User, idOrName: string, patch: UpdateEnvironmentInput): Promise<Environment> {
    const env = await this.get(actor, idOrName);
    if (patch.lifecycle_policy !== undefined || patch.lifecycle_config !== undefined)
      checkLifecycleInput(
        this.rules,
        actor,
        patch.lifecycle_policy ?? env.lifecycle_policy,
        patch.lifecycle_config === undefined ? env.lifecycle_config : patch.lifecycle_config,
      );
    const switching = patch.use_jumpserver !== undefined && patch.use_jumpserver !== env.use_jumpserver;
    if (switching) await this.o.registry?.admit(Boolean(patch.use_jumpserver));
    let updated = (await this.o.repo.update(env.id, patch))!;
    if (switching)
      await this.o.registry?.sync(updated).catch(async (err) => {
        updated = (await this.o.repo.update(env.id, { use_jumpserver: env.use_jumpserver }))!;
        throw err;
      });
    await this.o.audit.record({
      user_id: actor.id,
      action: 'environment.update',
      target: env.id,
      detail: Object.keys(patch),
    });
    this.o.events.publish({
      type: 'environment.updated',
      environment_id: env.id,
      owner_id: env.owner_id,
      status: updated.status,
    });
    return updated;
  }

  /** Copies the env's read-write datasets back to their prefixes now (where they are copies: Kubernetes). */
  async syncDatasets(actor: User, idOrName: string): Promise<DatasetsSynced> {
    return syncDatasetsBack(this.o.backends, await this.get(actor, idOrName));
  }

  // ---- streams and secrets ---------------------------------------------------------------------------------

  async logs(
    actor: User,
    idOrName: string,
    opts: { tail?: number; follow?: boolean; signal?: AbortSignal },
  ): Promise<Readable> {
    const env = await this.get(actor, idOrName);
    if (!env.backend_ref) throw new ConflictError(`environment '${env.name}' has no container yet (${env.status})`);
    return this.o.backends.get(env.backend_id).logs(env.backend_ref, opts);
  }

  /** Raw TCP to a port of a running env: the far end of the WebSocket tunnel. */
  /** forJumpServer: the env's SSH endpoint for JumpServer (services/jumpserverEndpoints.ts), open even when direct
   *  access is refused. */
  async openTunnel(
    actor: User,
    idOrName: string,
    port: number,
    opts: { audit?: boolean; forJumpServer?: boolean } = {},
  ): Promise<Duplex> {
    let env = await getFor(this.o.repo, actor, idOrName);
    if (!opts.forJumpServer && this.o.registry?.directRefused(env))
      throw new ForbiddenError(`environment '${env.name}' is reached through JumpServer only (jumpserver.required)`, {
        rule: 'jumpserver.required',
      });
    // on_demand: the connection starts it and waits (the tunnel opens once it runs).
    if (env.lifecycle_policy === 'on_demand' && ['stopped', 'starting'].includes(env.status))
      env = await startOnConnect(this.life, actor, env);
    if (env.status !== 'running' || !env.backend_ref)
      throw new ConflictError(`environment '${env.name}' is ${env.status}; start it first`);
    if (opts.audit !== false)
      await this.o.audit.record({ user_id: actor.id, action: 'tunnel.open', target: env.id, detail: { port } });
    try {
      const stream = await this.o.backends.get(env.backend_id).openPort(env.backend_ref, port);
      // Every tunnel counts as activity while it is open, with or without a terminal (ssh -N too).
      const close = this.activity.connect(env.id, kindOfPort(port));
      stream.once('close', close);
      stream.once('error', close);
      return stream;
    } catch (err) {
      if (err instanceof BackendUnavailableError || err instanceof UnprocessableError) throw err;
      throw new UnprocessableError(
        `port ${port} of '${env.name}' is not reachable: ${(err as Error).message}`,
        'port_unreachable',
      );
    }
  }

  /** The Jupyter token (injected by the proxy so the gateway's own auth is the only one a user meets). */
  async jupyterToken(actor: User, idOrName: string): Promise<string> {
    return (await this.jupyterAccess(actor, idOrName)).token;
  }

  /** The env (owner-checked) and its Jupyter token: the Jupyter proxy's per-request path, one query by id. */
  async jupyterAccess(actor: User, idOrName: string): Promise<{ env: JupyterAccess; token: string }> {
    const env = await jupyterFor(this.o.repo, actor, idOrName);
    if (!env.jupyter_token)
      throw new ConflictError(
        `environment '${env.name}' does not run Jupyter (environment_type ${env.environment_type})`,
      );
    return { env, token: env.jupyter_token };
  }

  /** A new Jupyter token or VNC password: written into the env, which restarts with it; the old one stops working. */
  async rotateSecret(actor: User, idOrName: string, secret: RotatableSecret): Promise<ConnectionInfo> {
    const env = await this.get(actor, idOrName);
    if (!(await this.o.repo.secrets(env.id))?.[secret])
      throw new ConflictError(`environment '${env.name}' has no ${secret}`);
    if (await rotate(this.ctx, env, secret)) await this.restart(actor, env.id);
    await this.o.audit.record({
      user_id: actor.id,
      action: 'environment.rotate_secret',
      target: env.id,
      detail: { secret },
    });
    return this.connection(actor, env.id);
  }

  // ---- reconciliation and watch hooks (see reconcile.ts) ---------------------------------------------------

  isBusy(id: string): boolean {
    return this.lock.isBusy(id);
  }
  resumeProvision(id: string): void {
    if (!this.lock.isBusy(id)) this.lock.track(id, () => provision(this.ctx, id));
  }
  resumeStart(id: string): void {
    if (!this.lock.isBusy(id)) this.lock.track(id, () => resumeStart(this.ctx, id));
  }
  resumeDelete(id: string): void {
    if (!this.lock.isBusy(id)) this.lock.track(id, () => finishDelete(this.ctx, id));
  }
  /** A status change a backend's watch pushed (see observe.ts). */
  observe(id: string, st: BackendStatus): Promise<void> {
    return observe(this.ctx, id, st);
  }
  setStatus(env: EnvKey, from: EnvStatus[], to: EnvStatus, message: string | null = null): Promise<boolean> {
    return setStatus(this.ctx, env, from, to, message);
  }
  /** Runs one lifecycle operation on an env; a second one at the same time is a 409. */
  exclusive<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.lock.exclusive(id, fn);
  }
  /** Settles when no lifecycle work is in flight (tests, shutdown). */
  idle(): Promise<void> {
    return this.lock.idle();
  }
}

// The policy loop: every tick it derives each env's next automatic action (deadline.ts decides) and does the ones
// that are due, one at a time per env through the operation lock; an env busy with another operation is left for
// the next tick. Durable: deadlines derive from stored timestamps, and the action decided is written down first
// (lifecycle_pending) and dropped once it no longer applies, so one decided at a crash happens once, not twice.
import type { Kysely } from 'kysely';
import type { Environment, User } from '../../common/model';
import type { Database } from '../store/schema';
import type { LifecycleTimes } from '../store/environments';
import * as actions from './actions';
import type { ActionContext } from './actions';
import type { Activity } from './activity';
import { openSessions, type AgentSessions } from './agentSessions';
import type { Clock } from './clock';
import { decide, type Decision } from './deadline';
import { kernelsBusy } from './kernels';
import { effectiveConfig, type LifecycleRules } from './policy';
import { AUTO_STOP_PREFIX, type HeldGpus, type UsageMeter } from './usage';

export interface AutopilotDeps {
  ctx: ActionContext;
  db: Kysely<Database>;
  activity: Activity;
  clock: Clock;
  rules: LifecycleRules;
  usage?: UsageMeter;
  /** hangar-agent's status probe: an agent env with a session open is active, wherever that session came from. */
  agents?: AgentSessions;
}

export interface TickReport {
  done: { env: string; action: string; reason: string }[];
  failed: { env: string; action: string; error: string }[];
}

export class Autopilot {
  private timer?: NodeJS.Timeout;
  private running?: Promise<TickReport>;

  constructor(private readonly d: AutopilotDeps) {}

  /** The next automatic action of each env given (the API's next_action). */
  async deadlines(
    envs: readonly Environment[],
    known?: ReadonlyMap<string, LifecycleTimes>,
  ): Promise<Map<string, Decision>> {
    // A page (≤ 1000) reads its own rows' times (or has them); only a whole big list reads them all at once.
    const ids = envs.length > 1000 ? undefined : envs.map((e) => e.id);
    const [times, teams] = await Promise.all([known ?? this.d.ctx.repo.lifecycleTimes(ids), this.teams(envs)]);
    const now = this.d.clock.now();
    const out = new Map<string, Decision>();
    for (const env of envs) {
      const t = times.get(env.id);
      if (!t) continue;
      const cfg = effectiveConfig(this.d.rules, teams.get(env.owner_id), env.lifecycle_policy, env.lifecycle_config);
      out.set(
        env.id,
        decide({
          env,
          cfg,
          times: t,
          connections: this.d.activity.connections(env.id),
          gpu: this.d.activity.gpuState(env.id),
          now,
        }),
      );
    }
    return out;
  }

  /** One pass; a second call while one runs waits for it. */
  tick(): Promise<TickReport> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  startLoop(intervalS: number): void {
    this.timer = setInterval(() => {
      this.tick().catch((err) => this.d.ctx.log.error({ err: String(err) }, 'lifecycle tick failed'));
    }, intervalS * 1000);
    this.timer.unref();
  }

  stopLoop(): void {
    clearInterval(this.timer);
  }

  private async pass(): Promise<TickReport> {
    const report: TickReport = { done: [], failed: [] };
    await this.resumeCutShort(report);
    const envs = await this.d.ctx.repo.list({ status: ['running', 'stopped'] });
    await this.sampleGpus(envs);
    await this.probeKernels(envs);
    await this.probeAgents(envs);
    await this.d.activity.flush();
    const [decisions, times] = await Promise.all([this.deadlines(envs), this.d.ctx.repo.lifecycleTimes()]);
    const now = this.d.clock.now();
    for (const env of envs) {
      const dec = decisions.get(env.id);
      const pending = times.get(env.id)?.pending;
      const due = dec && dec.action !== 'none' && dec.at !== null && dec.at <= now;
      // What was decided before (maybe by a process that crashed) and no longer applies has happened or is moot.
      if (pending && (!due || pending.action !== dec.action)) await this.d.ctx.repo.setPending(env.id, null);
      if (!due || this.d.ctx.lock.isBusy(env.id)) continue;
      await this.apply(env, dec, report);
    }
    return report;
  }

  private async apply(env: Environment, dec: Decision, report: TickReport): Promise<void> {
    const { ctx } = this.d;
    const action = dec.action as 'stop' | 'delete' | 'start';
    await ctx.repo.setPending(env.id, {
      action,
      reason: dec.reason,
      decided_at: new Date(this.d.clock.now()).toISOString(),
    });
    const actor = { auto: dec.reason };
    try {
      if (action === 'stop') {
        await actions.stop(ctx, actor, env);
        // Why it stopped, where ls and the tree show it (and what the GPU accounting counts as reclaimed).
        await ctx.repo.update(env.id, { status_message: AUTO_STOP_PREFIX + dec.reason });
      } else if (action === 'delete') await actions.remove(ctx, actor, env);
      else await actions.start(ctx, actor, env);
      this.d.activity.forgetGpu(env.id);
      ctx.log.info({ env: env.id, name: env.name, action, reason: dec.reason }, `automatic ${action}: ${dec.reason}`);
      ctx.events.publish({
        type: 'environment.lifecycle',
        environment_id: env.id,
        owner_id: env.owner_id,
        action,
        reason: dec.reason,
      });
      report.done.push({ env: env.name, action, reason: dec.reason });
    } catch (err) {
      ctx.log.warn({ env: env.id, action, err: String(err) }, `automatic ${action} failed`);
      report.failed.push({ env: env.name, action, error: (err as Error).message });
    } finally {
      if (action !== 'delete') await ctx.repo.setPending(env.id, null).catch(() => undefined);
    }
  }

  /** Stops this loop decided that a crash left half done: no one holds them now, so they are finished here. */
  private async resumeCutShort(report: TickReport): Promise<void> {
    const times = await this.d.ctx.repo.lifecycleTimes();
    for (const env of await this.d.ctx.repo.list({ status: ['stopping'] })) {
      const p = times.get(env.id)?.pending;
      if (p?.action !== 'stop' || this.d.ctx.lock.isBusy(env.id)) continue;
      await actions
        .resumeStop(this.d.ctx, { auto: p.reason }, env)
        .then(() => report.done.push({ env: env.name, action: 'stop', reason: p.reason }))
        .catch((err) => report.failed.push({ env: env.name, action: 'stop', error: String(err) }));
      await this.d.ctx.repo.setPending(env.id, null);
    }
  }

  /** Running Jupyter envs with a kernel executing are active now (a cell running with no browser open). */
  private async probeKernels(envs: Environment[]): Promise<void> {
    const jupyter = envs.filter((e) => e.status === 'running' && e.backend_ref && !this.d.ctx.lock.isBusy(e.id));
    await Promise.all(
      jupyter.map(async (env) => {
        const token = (await this.d.ctx.repo.secrets(env.id))?.jupyter_token;
        if (token && (await kernelsBusy(this.d.ctx.backends, env, token))) this.d.activity.bump(env.id, true);
      }),
    );
  }

  /** Agent envs report their own sessions: one with any open is active now (a KoKo login, a published port). Envs
   *  the gateway already counts as connected need no probe; eight at a time keeps a big fleet's tick short. */
  private async probeAgents(envs: Environment[]): Promise<void> {
    const agents = this.d.agents;
    if (!agents) return;
    const todo = envs.filter(
      (e) =>
        e.status === 'running' &&
        e.ssh_server === 'agent' &&
        !this.d.ctx.lock.isBusy(e.id) &&
        !this.d.activity.connections(e.id),
    );
    const next = async (): Promise<void> => {
      for (let env = todo.shift(); env; env = todo.shift())
        if (openSessions(await agents.status(env)) > 0) this.d.activity.bump(env.id, true);
    };
    await Promise.all(Array.from({ length: Math.min(8, todo.length) }, next));
  }

  /** GPU readings from the inventory (refreshed by the GPU loop) for the running envs holding those GPUs; the
   *  accounting of GPU time held, busy and reclaimed. */
  private async sampleGpus(envs: Environment[]): Promise<void> {
    const running = new Map(envs.filter((e) => e.status === 'running').map((e) => [e.id, e]));
    const teams = await this.teams(envs);
    const held = new Map<string, HeldGpus>();
    for (const dev of await this.d.ctx.gpus.list({})) {
      for (const h of dev.holders) {
        const env = running.get(h.env_id);
        if (!env) continue;
        const cfg = effectiveConfig(this.d.rules, teams.get(env.owner_id), env.lifecycle_policy, env.lifecycle_config);
        const busy = dev.utilization !== null && dev.utilization >= cfg.gpu_busy_threshold_percent;
        const x = held.get(env.id) ?? { units: 0, busy: false };
        held.set(env.id, { units: x.units + 1, busy: x.busy || busy });
        if (dev.utilization !== null)
          this.d.activity.sampleGpu(env.id, dev.utilization, cfg.gpu_busy_threshold_percent);
      }
    }
    await this.d.usage?.sample(envs, held, teams);
  }

  private async teams(envs: readonly Environment[]): Promise<Map<string, User['team']>> {
    const owners = [...new Set(envs.map((e) => e.owner_id))];
    if (!owners.length) return new Map();
    const rows = await this.d.db.selectFrom('users').select(['id', 'team']).where('id', 'in', owners).execute();
    return new Map(rows.map((r) => [r.id, r.team]));
  }
}

// The lifecycle's user-facing operations: next_action on the envs the API returns, extend, and start-on-connect
// (a tunnel to a stopped on_demand env starts it and waits until it runs).
import type { NextAction } from '../../common/lifecycle';
import type { Environment, User } from '../../common/model';
import { ConflictError } from '../errors';
import type { LifecycleTimes } from '../store/environments';
import * as actions from './actions';
import type { ActionContext } from './actions';
import type { Autopilot } from './autopilot';
import type { Clock } from './clock';

export interface LifecycleDeps {
  ctx: ActionContext;
  autopilot: Autopilot;
  clock: Clock;
  startOnConnectTimeoutS: number;
}

/** The envs with their next automatic action filled in. */
/** `times`: the rows' lifecycle times when they were read with them (a page of the list). */
export async function withNextAction(
  d: LifecycleDeps,
  envs: readonly Environment[],
  times?: ReadonlyMap<string, LifecycleTimes>,
): Promise<Environment[]> {
  const dl = await d.autopilot.deadlines(envs, times);
  return envs.map((e) => {
    const x = dl.get(e.id);
    const next: NextAction | null = x
      ? { action: x.action, at: x.at === null ? null : new Date(x.at).toISOString(), reason: x.reason }
      : null;
    return { ...e, next_action: next };
  });
}

/** Pushes the next automatic stop out by `minutes` from its deadline (or from now, when that passed); the hard
 *  max lifetime stays. */
export async function extend(d: LifecycleDeps, actor: User, env: Environment, minutes: number): Promise<void> {
  if (env.status !== 'running')
    throw new ConflictError(`environment '${env.name}' is ${env.status}; only a running one is extended`);
  const [cur] = await withNextAction(d, [env]);
  const now = d.clock.now();
  const from = Math.max(now, cur.next_action?.at ? Date.parse(cur.next_action.at) : now);
  const until = new Date(from + minutes * 60_000).toISOString();
  await d.ctx.repo.setExtendedUntil(env.id, until);
  await d.ctx.audit.record({
    user_id: actor.id,
    action: 'environment.extend',
    target: env.id,
    detail: { minutes, until },
  });
  d.ctx.events.publish({
    type: 'environment.lifecycle',
    environment_id: env.id,
    owner_id: env.owner_id,
    action: 'extend',
    reason: `extended until ${until}`,
  });
}

/** A stopped on_demand env is started (or a start in flight awaited) before its tunnel opens. */
export async function startOnConnect(d: LifecycleDeps, actor: User, env: Environment): Promise<Environment> {
  const limit = Date.now() + d.startOnConnectTimeoutS * 1000;
  if (env.status === 'stopped' && !d.ctx.lock.isBusy(env.id)) {
    const started = actions.start(d.ctx, { ...actor, reason: 'start on connect' }, env).catch((err) => {
      if (!(err instanceof ConflictError && d.ctx.lock.isBusy(env.id))) throw err; // lost a race: wait for that one
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new ConflictError(`environment '${env.name}' did not start within ${d.startOnConnectTimeoutS} s`)),
        d.startOnConnectTimeoutS * 1000,
      );
    });
    try {
      await Promise.race([started, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
  for (;;) {
    const cur = (await d.ctx.repo.get(env.id))!;
    if (cur.status === 'running' && !d.ctx.lock.isBusy(env.id)) return cur;
    const waiting =
      ['starting', 'pending'].includes(cur.status) || (cur.status === 'stopped' && d.ctx.lock.isBusy(env.id));
    if (!waiting || Date.now() > limit)
      throw new ConflictError(
        `environment '${cur.name}' is ${cur.status}${cur.status_message ? `: ${cur.status_message}` : ''}`,
      );
    await new Promise((r) => setTimeout(r, 200));
  }
}

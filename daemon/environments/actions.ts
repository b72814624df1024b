// Start, stop, restart and delete of an existing env: one at a time per env (the lock), status moved around
// the backend call, GPUs taken back at start and released at stop.
import type { Environment, User } from '../../common/model';
import type { BackendStatus } from '../contract';
import { BackendUnavailableError, ConflictError } from '../errors';
import type { TeamQuotas } from '../profiles/quota';
import type { AuditRepo } from '../store/users';
import type { ProvisionContext } from './provision';
import { finishDelete, provision } from './provision';
import { waitUntilReady } from './readiness';
import { settle, setStatus } from './status';

export interface ActionContext extends ProvisionContext {
  audit: AuditRepo;
  quotas?: TeamQuotas;
}

const current = async (ctx: ActionContext, id: string) => (await ctx.repo.get(id))!;

/** Who did it: a user, or the lifecycle policy (no user) with its reason. */
export type Actor = (User & { reason?: string }) | { auto: string };
const auditBy = (actor: Actor) =>
  'auto' in actor
    ? { user_id: null, detail: { automatic: true, reason: actor.auto } }
    : { user_id: actor.id, detail: actor.reason ? { reason: actor.reason } : undefined };

export function start(ctx: ActionContext, actor: Actor, env: Environment): Promise<Environment> {
  return ctx.lock.exclusive(env.id, async () => {
    const cur = await current(ctx, env.id);
    if (cur.status === 'running' || cur.status === 'pending') return cur;
    // A start takes resources again: the owner's team quota counts them (this env's own are not in use now).
    await ctx.quotas?.check(cur.owner_id, cur, cur.id);
    if (cur.status === 'failed' && !cur.backend_ref) {
      await setStatus(ctx, cur, ['failed'], 'creating');
      await provision(ctx, cur.id);
      return current(ctx, env.id);
    }
    if (!cur.backend_ref || !['stopped', 'failed', 'missing'].includes(cur.status)) {
      throw new ConflictError(`environment '${cur.name}' is ${cur.status}`);
    }
    if (cur.status === 'missing')
      throw new ConflictError(
        `environment '${cur.name}' was removed from backend '${cur.backend_id}'; delete it and create it again`,
      );
    const driver = ctx.backends.get(cur.backend_id);
    await driver.info();
    // The GPUs were released at stop: take the same ones back, or say who holds them now.
    await ctx.gpus.reacquire(cur);
    await setStatus(ctx, cur, ['stopped', 'failed'], 'starting');
    let settled: BackendStatus | void;
    try {
      await ctx.datasets?.attach(cur);
      await driver.start(cur.backend_ref);
      settled = await waitUntilReady(ctx, driver, cur.backend_ref);
    } catch (err) {
      await ctx.gpus.release(cur.id);
      await setStatus(
        ctx,
        cur,
        ['starting'],
        err instanceof BackendUnavailableError ? 'stopped' : 'failed',
        (err as Error).message,
      );
      throw err;
    }
    await settle(ctx, cur, settled);
    await ctx.audit.record({ ...auditBy(actor), action: 'environment.start', target: env.id });
    return current(ctx, env.id);
  });
}

export function stop(ctx: ActionContext, actor: Actor, env: Environment): Promise<Environment> {
  return ctx.lock.exclusive(env.id, async () => {
    const cur = await current(ctx, env.id);
    if (cur.status === 'stopped') return cur;
    if (cur.status === 'pending' && !cur.backend_ref)
      throw new ConflictError(
        `environment '${cur.name}' is queued for GPUs (${cur.status_message}); delete it to leave the queue`,
      );
    if ((cur.status !== 'running' && cur.status !== 'pending') || !cur.backend_ref)
      throw new ConflictError(`environment '${cur.name}' is ${cur.status}`);
    const driver = ctx.backends.get(cur.backend_id);
    await driver.info();
    await setStatus(ctx, cur, ['running', 'pending'], 'stopping');
    try {
      await driver.stop(cur.backend_ref, ctx.stopTimeoutS);
    } catch (err) {
      await setStatus(ctx, cur, ['stopping'], cur.status, (err as Error).message);
      throw err;
    }
    await ctx.datasets?.detach(cur.id);
    await setStatus(ctx, cur, ['stopping'], 'stopped');
    await ctx.gpus.release(cur.id);
    await ctx.audit.record({ ...auditBy(actor), action: 'environment.stop', target: env.id });
    return current(ctx, env.id);
  });
}

/** A stop the lifecycle decided and a crash cut short (the env left 'stopping', nobody holding it): finished once. */
export function resumeStop(ctx: ActionContext, actor: Actor, env: Environment): Promise<Environment> {
  return ctx.lock.exclusive(env.id, async () => {
    const cur = await current(ctx, env.id);
    if (cur.status !== 'stopping' || !cur.backend_ref) return cur;
    await ctx.backends.get(cur.backend_id).stop(cur.backend_ref, ctx.stopTimeoutS);
    await ctx.datasets?.detach(cur.id);
    await setStatus(ctx, cur, ['stopping'], 'stopped');
    await ctx.gpus.release(cur.id);
    await ctx.audit.record({ ...auditBy(actor), action: 'environment.stop', target: env.id });
    return current(ctx, env.id);
  });
}

export function restart(ctx: ActionContext, actor: Actor, env: Environment): Promise<Environment> {
  if (env.status !== 'running') return start(ctx, actor, env);
  if (env.lifecycle_policy === 'ephemeral') return rebuild(ctx, actor, env);
  return ctx.lock.exclusive(env.id, async () => {
    const driver = ctx.backends.get(env.backend_id);
    await driver.info();
    await setStatus(ctx, env, ['running'], 'starting');
    let settled: BackendStatus | void;
    try {
      await ctx.datasets?.attach(env);
      await driver.restart(env.backend_ref!, ctx.stopTimeoutS);
      settled = await waitUntilReady(ctx, driver, env.backend_ref!);
    } catch (err) {
      await setStatus(
        ctx,
        env,
        ['starting'],
        err instanceof BackendUnavailableError ? 'running' : 'failed',
        (err as Error).message,
      );
      throw err;
    }
    await settle(ctx, env, settled);
    await ctx.audit.record({ ...auditBy(actor), action: 'environment.restart', target: env.id });
    return current(ctx, env.id);
  });
}

/** An ephemeral env restarts as a rebuild: its object is made again from the same spec (a clean root, new host key;
 *  it owns no named volume), keeping its row, its name and its GPU grant. */
function rebuild(ctx: ActionContext, actor: Actor, env: Environment): Promise<Environment> {
  return ctx.lock.exclusive(env.id, async () => {
    const driver = ctx.backends.get(env.backend_id);
    await driver.info();
    await setStatus(ctx, env, ['running'], 'creating', 'rebuilding from its spec (ephemeral)');
    await driver.delete(env.backend_ref!);
    await ctx.repo.update(env.id, { backend_ref: null });
    await provision(ctx, env.id);
    await ctx.audit.record({ ...auditBy(actor), action: 'environment.rebuild', target: env.id });
    return current(ctx, env.id);
  });
}

export async function remove(ctx: ActionContext, actor: Actor, env: Environment): Promise<void> {
  // A create still in flight finishes (or fails) first, so its container can't appear after the delete.
  await ctx.lock.settled(env.id);
  await ctx.lock.exclusive(env.id, async () => {
    const driver = ctx.backends.get(env.backend_id);
    await driver.info();
    const cur = await current(ctx, env.id);
    await setStatus(ctx, cur, [cur.status], 'deleting');
    const by = auditBy(actor);
    await ctx.audit.record({
      user_id: by.user_id,
      action: 'environment.delete',
      target: env.id,
      detail: { name: env.name, ...by.detail },
    });
    await finishDelete(ctx, cur.id);
  });
}

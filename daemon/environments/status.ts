// Status moves: compare-and-set on the row, then the event; and where a start ends.
import type { Environment, EnvStatus } from '../../common/model';
import type { BackendStatus } from '../contract';
import type { LifecycleContext } from './context';

export type EnvKey = Pick<Environment, 'id' | 'owner_id'>;

/** Moves the env from one of `from` to `to`; false (and no event) when it wasn't in one of them. */
export async function setStatus(
  ctx: Pick<LifecycleContext, 'repo' | 'events'>,
  env: EnvKey,
  from: EnvStatus[],
  to: EnvStatus,
  message: string | null = null,
): Promise<boolean> {
  const ok = await ctx.repo.transition(env.id, from, to, message);
  if (ok)
    ctx.events.publish({
      type: 'environment.status',
      environment_id: env.id,
      owner_id: env.owner_id,
      status: to,
      message,
    });
  return ok;
}

/** Where a start ends: running, or what the backend settled for — pending (not placed yet: its watch reports
 *  when it is; news that came during this operation waits in the lock), or a Job that already ended (stopped
 *  "completed" / failed). */
export async function settle(ctx: LifecycleContext, env: EnvKey, st: BackendStatus | void): Promise<void> {
  const to: EnvStatus = !st
    ? 'running'
    : st.state === 'pending' || st.state === 'stopped' || st.state === 'failed'
      ? st.state
      : 'running';
  await setStatus(ctx, env, ['starting'], to, st?.message ?? null);
  if (to === 'stopped' || to === 'failed') await ctx.gpus.release(env.id);
}

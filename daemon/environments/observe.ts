// A status change a backend's watch pushed (the statusWatch capability). An env with an operation in flight keeps
// the news until it ends; only settled states move (compare-and-set), so a watch never undoes what an operation did.
import type { EnvStatus } from '../../common/model';
import type { BackendStatus } from '../contract';
import type { LifecycleContext } from './context';
import { setStatus } from './status';

const SETTLED: EnvStatus[] = ['running', 'pending', 'stopped', 'failed'];

export async function observe(ctx: LifecycleContext, id: string, st: BackendStatus): Promise<void> {
  if (ctx.lock.isBusy(id)) {
    ctx.lock.whenDone(
      id,
      () =>
        void observe(ctx, id, st).catch((err) =>
          ctx.log.error({ env: id, err: String(err) }, 'watched status not applied'),
        ),
    );
    return;
  }
  const env = await ctx.repo.get(id);
  if (!env?.backend_ref) return;
  const moves: Partial<Record<BackendStatus['state'], { from: EnvStatus[]; message: string | null }>> = {
    running: { from: SETTLED, message: st.message ?? null },
    pending: { from: ['running', 'pending'], message: st.message ?? null },
    stopped: { from: ['running', 'pending'], message: st.message ?? 'stopped outside Hangar' },
    failed: { from: ['running', 'pending'], message: st.message ?? null },
    missing: { from: SETTLED, message: `removed from backend '${env.backend_id}' outside Hangar` },
  };
  const move = moves[st.state];
  if (!move || !move.from.includes(env.status)) return;
  const to = st.state as EnvStatus;
  // Same status: only news (a new scheduler message, a CronJob's last run) is worth an update.
  if (env.status === to && (st.message === undefined || env.status_message === move.message)) return;
  if (
    (await setStatus(ctx, env, [env.status], to, move.message)) &&
    (to === 'stopped' || to === 'failed' || to === 'missing')
  )
    await ctx.gpus.release(id);
}

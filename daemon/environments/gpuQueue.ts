// Envs queued for GPUs (gpu_wait): pending, nothing made, until a release frees what they asked for.
import type { Kysely } from 'kysely';
import { ConflictError } from '../errors';
import { requestOf } from '../gpu/service';
import type { SecretBox } from '../secretBox';
import { EnvironmentRepo } from '../store/environments';
import type { Database } from '../store/schema';
import { provision, type ProvisionContext } from './provision';
import { setStatus } from './status';

export class GpuQueue {
  private draining?: Promise<void>;
  private drainAgain = false;

  constructor(private readonly o: { ctx: ProvisionContext; db: Kysely<Database>; box?: SecretBox }) {}

  /** Oldest first: each that fits now gets its grants and is provisioned. A smaller request behind a big one may
   *  go first (backfill) rather than leave GPUs idle. Runs on every release. */
  drain(): Promise<void> {
    // A release during a pass may free what that pass already looked at: run once more after it.
    if (this.draining) {
      this.drainAgain = true;
      return this.draining;
    }
    this.draining = this.pass()
      .catch((err) => this.o.ctx.log.error({ err: String(err) }, 'GPU queue not drained'))
      .finally(() => {
        this.draining = undefined;
        if (this.drainAgain) {
          this.drainAgain = false;
          void this.drain();
        }
      });
    return this.draining;
  }

  private async pass(): Promise<void> {
    const { ctx } = this.o;
    const queued = (await ctx.repo.list({ status: ['pending'] }))
      .filter(
        (e) => !e.backend_ref && e.gpu_mode !== 'none' && !ctx.lock.isBusy(e.id) && ctx.gpus.allocates(e.backend_id),
      )
      .sort((a, b) => a.created_at.localeCompare(b.created_at));
    // All asked for at once: one batch (GpuService.transaction), decided in queue order on one read of the GPUs.
    const grants = await Promise.allSettled(
      queued.map((e) =>
        ctx.gpus.transaction(async (trx) => {
          const cur = await new EnvironmentRepo(trx, this.o.box).get(e.id);
          if (cur?.status !== 'pending' || cur.backend_ref) return null;
          return ctx.gpus.grantIn(trx, e.id, e.backend_id, requestOf(e)!).catch((err) => {
            if (err instanceof ConflictError) return null;
            throw err;
          });
        }),
      ),
    );
    // Every committed grant is followed up, even when another env's transaction failed (that error comes last).
    for (const [i, e] of queued.entries()) {
      const r = grants[i];
      if (r.status === 'rejected' || !r.value) continue;
      await ctx.repo.update(e.id, { gpu_device_ids: r.value });
      await setStatus(ctx, e, ['pending'], 'creating');
      ctx.lock.track(e.id, () => provision(ctx, e.id));
    }
    const failed = grants.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}

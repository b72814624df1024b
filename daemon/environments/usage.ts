// GPU accounting, sampled by the policy loop: each tick adds the time since the last one to every env's GPU-seconds
// held (its grants), busy (a reading above its threshold) and reclaimed (a GPU env the lifecycle stopped and that is
// still stopped). Accurate to about one tick.
import type { Environment, User } from '../../common/model';
import type { GpuUsageRepo, UsageSample } from '../store/gpuUsage';
import type { Clock } from './clock';

/** status_message of an env the lifecycle stopped (also what `hangar ls`/the tree show as the reason). */
export const AUTO_STOP_PREFIX = 'stopped by the lifecycle: ';
const MAX_GAP_MS = 10 * 60_000; // a gap longer than this (a pause, an outage) is not counted as held

export interface HeldGpus {
  units: number;
  busy: boolean;
}

export class UsageMeter {
  private last: number | null = null;

  constructor(private readonly o: { repo: GpuUsageRepo; clock: Clock }) {}

  async sample(envs: Environment[], held: Map<string, HeldGpus>, teams: Map<string, User['team']>): Promise<void> {
    const now = this.o.clock.now();
    const dt = this.last === null ? 0 : Math.min(now - this.last, MAX_GAP_MS) / 1000;
    this.last = now;
    if (dt <= 0) return;
    const samples: UsageSample[] = [];
    for (const e of envs) {
      const h = held.get(e.id);
      const reclaimed = e.status === 'stopped' && e.gpu_count > 0 && e.status_message?.startsWith(AUTO_STOP_PREFIX);
      if (!h && !reclaimed) continue;
      samples.push({
        env_id: e.id,
        owner_id: e.owner_id,
        team: teams.get(e.owner_id) ?? null,
        held_s: h ? h.units * dt : 0,
        busy_s: h?.busy ? h.units * dt : 0,
        reclaimed_s: reclaimed ? e.gpu_count * dt : 0,
      });
    }
    await this.o.repo.add(now, samples);
  }
}

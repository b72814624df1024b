// Team quotas (GPUs, CPU, memory, environments): pure arithmetic over what the team's envs hold now and what a
// create or start asks; the refusal carries the numbers.
import { ConflictError } from '../errors';

export interface TeamQuota {
  gpus?: number;
  cpu?: number;
  memory_mb?: number;
  environments?: number;
}

/** What envs hold: resources count while an env is active (not stopped/failed); every env counts as one. */
export interface Usage {
  gpus: number;
  cpu: number;
  memory_mb: number;
  environments: number;
}

export interface Ask {
  gpus: number;
  cpu: number | null;
  memory_mb: number | null;
  /** 1 for a create, 0 for a start (the env is already counted). */
  environments: number;
}

const LABELS: Record<keyof TeamQuota, string> = {
  gpus: 'GPUs',
  cpu: 'CPUs',
  memory_mb: 'MiB of memory',
  environments: 'environments',
};

/** The first limit the ask would pass, as "team ml: 7 of 8 GPUs in use, this asks 2"; undefined when it fits. */
export function quotaProblem(team: string, q: TeamQuota, used: Usage, ask: Ask): string | undefined {
  // A limit of no CPU/memory (null) counts as 0 here: the quota caps what envs say they take.
  const asks: Record<keyof TeamQuota, number> = {
    gpus: ask.gpus,
    cpu: ask.cpu ?? 0,
    memory_mb: ask.memory_mb ?? 0,
    environments: ask.environments,
  };
  for (const k of Object.keys(LABELS) as (keyof TeamQuota)[]) {
    const limit = q[k];
    if (limit === undefined || asks[k] === 0) continue;
    if (used[k] + asks[k] > limit)
      return `team ${team}: ${round(used[k])} of ${limit} ${LABELS[k]} in use, this asks ${round(asks[k])}`;
  }
  return undefined;
}

const round = (n: number) => Math.round(n * 100) / 100;

export function checkQuota(team: string, q: TeamQuota | undefined, used: Usage, ask: Ask): void {
  const why = q && quotaProblem(team, q, used, ask);
  if (why) throw new ConflictError(`quota exceeded: ${why}`);
}

/** The lookups quotas need: a user's team, and what that team's envs hold. */
export interface QuotaStore {
  teamOf(userId: string): Promise<string | null>;
  teamUsage(team: string, except?: string): Promise<Usage>;
}

/** Team quotas from the config, checked at create (a new env) and at start (an env about to take its resources). */
export class TeamQuotas {
  constructor(
    private readonly store: QuotaStore,
    private readonly quotas: Record<string, TeamQuota>,
  ) {}

  async check(
    ownerId: string,
    env: { gpu_count: number; cpu: number | null; memory_mb: number | null },
    startOf?: string,
  ): Promise<void> {
    if (Object.keys(this.quotas).length === 0) return;
    const team = await this.store.teamOf(ownerId);
    const q = team ? this.quotas[team] : undefined;
    if (!team || !q) return;
    const used = await this.store.teamUsage(team, startOf);
    checkQuota(team, q, used, {
      gpus: env.gpu_count,
      cpu: env.cpu,
      memory_mb: env.memory_mb,
      environments: startOf ? 0 : 1,
    });
  }
}

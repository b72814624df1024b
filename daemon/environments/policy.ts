// An env's effective lifecycle config: its own over its team's defaults over the gateway's, held to the limits
// (the gateway's and its team's, the lower wins); and the check that refuses input past a limit.
import type { LifecycleConfig } from '../../common/lifecycle';
import type { LifecyclePolicy, User } from '../../common/model';
import { InputError } from '../errors';

export interface LifecycleLimits {
  idle_timeout_minutes?: number;
  ttl_hours?: number;
  max_lifetime_hours?: number;
}

export interface LifecycleRules {
  defaults: LifecycleConfig;
  limits: LifecycleLimits;
  teams: Record<string, { defaults: LifecycleConfig; limits: LifecycleLimits }>;
}

export const NO_RULES: LifecycleRules = { defaults: {}, limits: {}, teams: {} };

/** Defaults a policy brings by itself: on_demand stops after 30 idle minutes; an ephemeral env's grace after its
 *  last connection is 30 minutes too. */
const POLICY_DEFAULTS: Record<LifecyclePolicy, LifecycleConfig> = {
  persistent: {},
  ephemeral: { idle_timeout_minutes: 30 },
  scheduled: {},
  on_demand: { idle_timeout_minutes: 30 },
};

export interface Effective extends LifecycleConfig {
  gpu_busy_threshold_percent: number;
  gpu_busy_window_minutes: number;
}

const min = (a: number | undefined, b: number | undefined) =>
  a === undefined ? b : b === undefined ? a : Math.min(a, b);

function limitsFor(rules: LifecycleRules, team: string | null | undefined): LifecycleLimits {
  const t = (team && rules.teams[team]?.limits) || {};
  return {
    idle_timeout_minutes: min(rules.limits.idle_timeout_minutes, t.idle_timeout_minutes),
    ttl_hours: min(rules.limits.ttl_hours, t.ttl_hours),
    max_lifetime_hours: min(rules.limits.max_lifetime_hours, t.max_lifetime_hours),
  };
}

export function effectiveConfig(
  rules: LifecycleRules,
  team: string | null | undefined,
  policy: LifecyclePolicy,
  own: LifecycleConfig | null | undefined,
): Effective {
  const teamDefaults = (team && rules.teams[team]?.defaults) || {};
  const c = { ...POLICY_DEFAULTS[policy], ...rules.defaults, ...teamDefaults, ...(own ?? {}) };
  const lim = limitsFor(rules, team);
  return {
    ...c,
    idle_timeout_minutes: min(c.idle_timeout_minutes, lim.idle_timeout_minutes),
    ttl_hours: min(c.ttl_hours, lim.ttl_hours),
    max_lifetime_hours: min(c.max_lifetime_hours, lim.max_lifetime_hours),
    gpu_busy_threshold_percent: c.gpu_busy_threshold_percent ?? 10,
    gpu_busy_window_minutes: c.gpu_busy_window_minutes ?? 15,
  };
}

/** A create or update asking past a limit is refused, naming the field. */
export function checkLifecycleInput(
  rules: LifecycleRules,
  actor: Pick<User, 'team'>,
  policy: LifecyclePolicy,
  own: LifecycleConfig | null | undefined,
): void {
  const lim = limitsFor(rules, actor.team);
  for (const k of ['idle_timeout_minutes', 'ttl_hours', 'max_lifetime_hours'] as const) {
    const v = own?.[k];
    const l = lim[k];
    if (v !== undefined && l !== undefined && v > l)
      throw new InputError(`lifecycle_config.${k}`, `lifecycle_config.${k}: ${v} is over this gateway's limit of ${l}`);
  }
  const eff = effectiveConfig(rules, actor.team, policy, own);
  if (policy === 'scheduled' && !eff.schedule?.start && !eff.schedule?.stop)
    throw new InputError(
      'lifecycle_config.schedule',
      'lifecycle_config.schedule: lifecycle_policy scheduled needs a schedule {start, stop, timezone}',
    );
}

/** An ephemeral env is rebuilt from its spec, so it gets no named volume of its own (a team's shared volume or a
 *  host_paths dataset is fine: those outlive it by design). */
export function checkEphemeralMounts(
  policy: LifecyclePolicy,
  mounts: { type: string; source: string }[] | undefined,
): void {
  if (policy !== 'ephemeral') return;
  const i = (mounts ?? []).findIndex((m) => m.type === 'volume' && !m.source.startsWith('team:'));
  if (i >= 0)
    throw new InputError(
      `storage_config.mounts.${i}.source`,
      `storage_config.mounts.${i}.source: an ephemeral env has no volume of its own (use a team:NAME volume or a host_paths dataset)`,
    );
}

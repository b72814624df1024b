// Lifecycle config (what an env asks for) and its next automatic action, shared by the daemon, the CLI and the
// extension. Schedules are croner crons with a time zone (the k8s CronJob dialect in cron.ts stays for k8s_cronjob).
import { Cron } from 'croner';
import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';

extendZodWithOpenApi(z);

const tzProblem = (tz: string): string | null => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return null;
  } catch {
    return `'${tz}' is not an IANA time zone`;
  }
};

const cronExpr = z
  .string()
  .min(1)
  .max(120)
  .regex(/^(@[a-z]+|\S+(\s+\S+){4,5})$/, 'must be a cron expression of 5 or 6 fields (or @daily, @hourly, …)')
  .superRefine((v, ctx) => {
    try {
      new Cron(v, { paused: true });
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `is not a cron expression: ${(err as Error).message}` });
    }
  })
  .describe('cron (5 or 6 fields, croner syntax; weekdays 1-5 = Mon-Fri), e.g. "0 9 * * 1-5"');

export const scheduleSchema = z
  .object({
    start: cronExpr.optional(),
    stop: cronExpr.optional(),
    timezone: z
      .string()
      .max(64)
      .default('UTC')
      .superRefine((v, ctx) => {
        const bad = tzProblem(v);
        if (bad) ctx.addIssue({ code: 'custom', message: bad });
      }),
  })
  .strict();

export const lifecycleConfigSchema = z
  .object({
    /** Stop (ephemeral: delete) after this long with no open connection. on_demand defaults to 30. */
    idle_timeout_minutes: z.number().int().min(1).max(525600).optional(),
    /** ephemeral: deleted this long after it started. */
    ttl_hours: z.number().positive().max(8760).optional(),
    /** Stopped this long after it started, whatever the activity (extend does not pass it). */
    max_lifetime_hours: z.number().positive().max(8760).optional(),
    schedule: scheduleSchema.optional(),
    /** GPUs busy (utilisation above the threshold within the window) count as activity. */
    keep_alive_while_gpu_busy: z.boolean().optional(),
    /** Stop when the GPUs sat idle for the window even while a connection stays open (a forgotten terminal). */
    stop_when_gpu_idle: z.boolean().optional(),
    gpu_busy_threshold_percent: z.number().min(1).max(100).optional(),
    gpu_busy_window_minutes: z.number().int().min(1).max(1440).optional(),
  })
  .strict();
export type LifecycleConfig = z.infer<typeof lifecycleConfigSchema>;

/** POST /environments/:id/extend: exactly one of hours or minutes (a oneOf the document states). */
export const extendSchema = z.union([
  z.object({ hours: z.number().positive().max(720) }).strict(),
  z.object({ minutes: z.number().int().positive().max(43200) }).strict(),
]);
/** The extension in whole minutes, from either form. */
export const extendMinutes = (b: z.infer<typeof extendSchema>): number =>
  'minutes' in b ? b.minutes : Math.max(1, Math.round(b.hours * 60));

/** An ISO 8601 time (a query parameter or a body field); shared by every route that takes one. */
export const isoTime = z
  .string()
  // The shape first: Date() also parses "0.5" or "May 1" and would take them for times.
  .regex(/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?$/, 'must be an ISO 8601 time')
  .refine((v) => {
    try {
      return new Date(v).toISOString().length > 0; // NaN and out-of-range dates throw
    } catch {
      return false;
    }
  }, 'must be an ISO 8601 time')
  .openapi({ format: 'date-time' });

/** GET /gpus/usage: a time range (default the last 7 days) and the grouping. */
export const gpuUsageQuery = z
  .object({
    from: isoTime.optional(),
    to: isoTime.optional(),
    by: z.enum(['user', 'team']).default('user'),
  })
  .strict();

export interface GpuUsageRow {
  /** The user's id (by user) or the team (by team; null: users without one). */
  key: string | null;
  gpu_hours_held: number;
  gpu_hours_busy: number;
  gpu_hours_reclaimed: number;
}

export interface GpuUsageReport {
  from: string;
  to: string;
  by: 'user' | 'team';
  rows: GpuUsageRow[];
}

export type AutoAction = 'stop' | 'delete' | 'start' | 'none';

/** An env's next automatic action: what, when (null with 'none'), and why. */
export interface NextAction {
  action: AutoAction;
  at: string | null;
  reason: string;
}

/** "2h", "90m", "1h30m" → minutes; null when it isn't a duration. */
export function parseDuration(s: string): number | null {
  const m = /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+)m)?$/.exec(s.trim());
  if (!m || (!m[1] && !m[2])) return null;
  return Math.round(Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0));
}

/** "stop in 12 min (idle 30 min)" — for ls, info and the extension's tree. */
export function describeNextAction(n: NextAction | null | undefined, now = Date.now()): string {
  if (!n || n.action === 'none') return n ? `no automatic action (${n.reason})` : '';
  const mins = Math.round((Date.parse(n.at!) - now) / 60_000);
  const when = mins <= 0 ? 'now' : mins < 120 ? `in ${mins} min` : `in ${Math.round(mins / 6) / 10} h`;
  return `${n.action} ${when} (${n.reason})`;
}

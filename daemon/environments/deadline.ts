// The decision: from an env's stored timestamps, its effective config, its open connections and its GPU readings,
// its next automatic action (stop / delete / start / none), when, and why. Pure: no clock, store or backend here,
// so the same facts give the same answer after a restart.
import { Cron } from 'croner';
import type { AutoAction } from '../../common/lifecycle';
import type { Environment } from '../../common/model';
import type { LifecycleTimes } from '../store/environments';
import type { Effective } from './policy';

export interface GpuState {
  /** The last reading above the threshold (ms), if any. */
  lastBusyAt: number | null;
  /** Since when readings were taken for this env (ms). */
  observedSince: number;
}

export interface Facts {
  env: Pick<Environment, 'status' | 'lifecycle_policy' | 'created_at'>;
  cfg: Effective;
  times: LifecycleTimes;
  connections: number;
  gpu: GpuState | null;
  now: number;
}

export interface Decision {
  action: AutoAction;
  at: number | null;
  reason: string;
}

const H = 3_600_000;
const M = 60_000;
const ms = (iso: string | null | undefined) => (iso ? Date.parse(iso) : 0);

/** The first run of `expr` (in `tz`) strictly after `after`; null when it has none. */
export function nextRun(expr: string, tz: string, after: number): number | null {
  const d = new Cron(expr, { timezone: tz, paused: true }).nextRun(new Date(after));
  return d ? d.getTime() : null;
}

const sched = (expr: string, tz: string) => `schedule: ${expr}${tz === 'UTC' ? '' : ` (${tz})`}`;

export function decide(f: Facts): Decision {
  if (f.env.status === 'running') return decideRunning(f);
  if (f.env.status === 'stopped') return decideStopped(f);
  return { action: 'none', at: null, reason: f.env.status };
}

function decideRunning(f: Facts): Decision {
  const { cfg, times } = f;
  const ephemeral = f.env.lifecycle_policy === 'ephemeral';
  const started = ms(times.started_at) || ms(f.env.created_at);
  const ext = ms(times.extended_until);
  // An extension moves every automatic stop to its end, except the hard max lifetime.
  const pushed = (d: Decision): Decision => (d.at !== null && d.at < ext ? { ...d, at: ext } : d);
  const c: Decision[] = [];
  if (ephemeral && cfg.ttl_hours)
    c.push(pushed({ action: 'delete', at: started + cfg.ttl_hours * H, reason: 'ephemeral TTL' }));
  if (cfg.max_lifetime_hours)
    c.push({ action: ephemeral ? 'delete' : 'stop', at: started + cfg.max_lifetime_hours * H, reason: 'max lifetime' });
  const stop = f.env.lifecycle_policy === 'scheduled' ? cfg.schedule?.stop : undefined;
  if (stop) {
    const at = nextRun(stop, cfg.schedule!.timezone, started);
    if (at !== null) c.push(pushed({ action: 'stop', at, reason: sched(stop, cfg.schedule!.timezone) }));
  }
  const idle = idleDecision(f, started, ephemeral);
  if (idle) c.push(pushed(idle));
  if (!c.length)
    return {
      action: 'none',
      at: null,
      reason: f.connections
        ? `${f.connections} connection${f.connections > 1 ? 's' : ''} open`
        : f.env.lifecycle_policy,
    };
  return c.reduce((a, b) => (b.at! < a.at! ? b : a));
}

/** No connection: idle from the last activity (GPUs busy count when asked). Connections open: only GPUs idle for
 *  the window stop it, when the config says so. */
function idleDecision(f: Facts, started: number, ephemeral: boolean): Decision | null {
  const { cfg, gpu } = f;
  const window = cfg.gpu_busy_window_minutes * M;
  if (f.connections > 0) {
    if (!cfg.stop_when_gpu_idle || !gpu) return null;
    const at = Math.max(gpu.lastBusyAt ?? gpu.observedSince, started) + window;
    return { action: 'stop', at, reason: `GPUs idle ${cfg.gpu_busy_window_minutes} min` };
  }
  const idle = cfg.idle_timeout_minutes;
  if (!idle) return null;
  const gpuBusy = cfg.keep_alive_while_gpu_busy && gpu?.lastBusyAt ? gpu.lastBusyAt : 0;
  const last = Math.max(ms(f.times.last_activity_at), started, gpuBusy);
  const why = `idle ${idle} min${gpuBusy && gpuBusy >= f.now - window ? ' (GPUs busy keep it up)' : ''}`;
  return { action: ephemeral ? 'delete' : 'stop', at: last + idle * M, reason: ephemeral ? `ephemeral: ${why}` : why };
}

function decideStopped(f: Facts): Decision {
  if (f.env.lifecycle_policy === 'ephemeral')
    return { action: 'delete', at: ms(f.times.stopped_at) || f.now, reason: 'ephemeral: stopped' };
  if (f.env.lifecycle_policy === 'on_demand') return { action: 'none', at: null, reason: 'starts on connect' };
  const s = f.env.lifecycle_policy === 'scheduled' ? f.cfg.schedule : undefined;
  if (!s?.start) return { action: 'none', at: null, reason: 'stopped' };
  const reason = sched(s.start, s.timezone);
  const since = ms(f.times.stopped_at) || ms(f.env.created_at);
  const first = nextRun(s.start, s.timezone, since);
  if (first === null) return { action: 'none', at: null, reason: 'schedule has no next start' };
  if (first > f.now) return { action: 'start', at: first, reason };
  // A start passed while we were down (or between ticks): still inside its window (no stop since) → start now.
  const stopAfter = s.stop ? nextRun(s.stop, s.timezone, first) : null;
  if (stopAfter === null || stopAfter > f.now) return { action: 'start', at: first, reason: `${reason} (missed)` };
  const next = nextRun(s.start, s.timezone, f.now);
  return next === null
    ? { action: 'none', at: null, reason: 'schedule has no next start' }
    : { action: 'start', at: next, reason };
}

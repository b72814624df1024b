// Which envs to warn about before an automatic stop or delete (no vscode import: mocha runs it). Each deadline is
// warned about once; an extension moves the deadline, so the new one is warned about again when it nears.
import type { Environment } from '../common/model';

export const WARN_BEFORE_MS = 10 * 60_000;

export class StopWarnings {
  private readonly warned = new Set<string>();

  /** Envs whose automatic stop/delete falls within the next `before` ms and that were not warned about yet. */
  due(envs: Environment[], now: number, before = WARN_BEFORE_MS): Environment[] {
    return envs.filter((e) => {
      const n = e.next_action;
      if (e.status !== 'running' || !n?.at || (n.action !== 'stop' && n.action !== 'delete')) return false;
      const left = Date.parse(n.at) - now;
      const key = `${e.id}@${n.at}`;
      if (left > before || this.warned.has(key)) return false;
      this.warned.add(key);
      return true;
    });
  }
}

/** "gpu-box stops in 8 min (idle 30 min)." */
export function warningText(e: Environment, now: number): string {
  const n = e.next_action!;
  const mins = Math.max(0, Math.round((Date.parse(n.at!) - now) / 60_000));
  return `${e.name} ${n.action === 'delete' ? 'is deleted' : 'stops'} in ${mins} min (${n.reason}).`;
}

// Activity: what a person or a job really does. Open tunnels of every kind (counted where they pass the gateway:
// the WebSocket/raw tunnel, the Jupyter proxy, desktop bridges) and GPU utilisation readings. Listing or reading
// envs never comes here. last_activity_at is stored (pushed out, never in) on open, on close and on every tick
// while a connection stays open, so a restart keeps the idle deadline where it was.
import type { EnvironmentRepo } from '../store/environments';
import type { Clock } from './clock';
import type { GpuState } from './deadline';

export type ConnectionKind = 'ssh' | 'port' | 'jupyter' | 'vnc' | 'rdp';

/** What a tunnel to `port` is, for the counts (the port an image serves it on by convention). */
export function kindOfPort(port: number): ConnectionKind {
  if (port === 22) return 'ssh';
  if (port === 8888) return 'jupyter';
  if (port === 3389) return 'rdp';
  if (port >= 5900 && port < 6000) return 'vnc';
  return 'port';
}

export class Activity {
  private readonly open = new Map<string, Map<ConnectionKind, number>>();
  private readonly gpu = new Map<string, GpuState>();
  private readonly lastPersist = new Map<string, number>();

  constructor(private readonly o: { repo: Pick<EnvironmentRepo, 'touchActivity'>; clock: Clock }) {}

  /** A connection opened; the function it returns closes it (once). */
  connect(envId: string, kind: ConnectionKind): () => void {
    const m = this.open.get(envId) ?? new Map<ConnectionKind, number>();
    this.open.set(envId, m);
    m.set(kind, (m.get(kind) ?? 0) + 1);
    this.persistSoon(envId);
    let closed = false;
    return () => {
      if (closed) return;
      closed = true;
      const n = (m.get(kind) ?? 1) - 1;
      if (n > 0) m.set(kind, n);
      else m.delete(kind);
      if (!m.size) this.open.delete(envId);
      this.persistSoon(envId);
    };
  }

  /** Activity without a held connection (a busy kernel): stored at most every 30 s unless `force`. */
  bump(envId: string, force = false): void {
    const now = this.o.clock.now();
    if (!force && now - (this.lastPersist.get(envId) ?? 0) < 30_000) return;
    void this.persist([envId]);
  }

  connections(envId: string): number {
    let n = 0;
    for (const v of this.open.get(envId)?.values() ?? []) n += v;
    return n;
  }

  kinds(envId: string): Partial<Record<ConnectionKind, number>> {
    return Object.fromEntries(this.open.get(envId) ?? []);
  }

  /** One GPU reading for an env (the highest utilisation over its devices). */
  sampleGpu(envId: string, utilisation: number, thresholdPercent: number): void {
    const now = this.o.clock.now();
    const s = this.gpu.get(envId) ?? { lastBusyAt: null, observedSince: now };
    if (utilisation >= thresholdPercent) s.lastBusyAt = now;
    this.gpu.set(envId, s);
  }

  gpuState(envId: string): GpuState | null {
    return this.gpu.get(envId) ?? null;
  }

  /** An env that stopped: its GPU readings start over at the next run. */
  forgetGpu(envId: string): void {
    this.gpu.delete(envId);
  }

  /** Each tick: envs with a connection open are active now. */
  async flush(): Promise<void> {
    await this.persist([...this.open.keys()]);
  }

  /** Opens and closes are stored at most every 5 s per env (a Jupyter page makes many short tunnels); the tick's
   *  flush keeps envs with open connections current, so the stored time is never more than that behind. */
  private persistSoon(envId: string): void {
    if (this.o.clock.now() - (this.lastPersist.get(envId) ?? 0) >= 5000) void this.persist([envId]);
  }

  private async persist(ids: string[]): Promise<void> {
    const now = this.o.clock.now();
    for (const id of ids) this.lastPersist.set(id, now);
    await this.o.repo.touchActivity(ids, new Date(now).toISOString()).catch(() => undefined);
  }
}

// Compares the store with every backend, at start-up and periodically. Unreachable backends are left alone:
// nothing is marked or deleted on a backend we can't see.
import type { Environment, EnvStatus } from '../../common/model';
import type { BackendState, Backends, Driver, ManagedObject } from '../contract';
import { BackendUnavailableError } from '../errors';
import type { Logger } from '../log';
import type { EnvironmentRepo } from '../store/environments';
import type { GpuService } from '../gpu/service';
import type { EnvKey } from './status';

/** What reconcile asks of the lifecycle (the service facade has these; reconcile never imports it). */
export interface ReconcileHooks {
  isBusy(id: string): boolean;
  resumeProvision(id: string): void;
  resumeStart(id: string): void;
  resumeDelete(id: string): void;
  setStatus(env: EnvKey, from: EnvStatus[], to: EnvStatus, message?: string | null): Promise<boolean>;
}

export interface ReconcilerOptions {
  repo: EnvironmentRepo;
  backends: Backends;
  envs: ReconcileHooks;
  log: Logger;
  gpus?: GpuService;
}

export interface ReconcileReport {
  backend: string;
  available: boolean;
  resumed: string[];
  adopted: string[];
  /** Env ids of objects with our labels and no row: listed at /orphans for an admin, never removed here. */
  orphans: string[];
  markedMissing: string[];
  statusSynced: string[];
}

export class Reconciler {
  private timer?: NodeJS.Timeout;
  private running?: Promise<ReconcileReport[]>;
  private readonly orphansSaid = new Map<string, string>();

  private readonly repo: EnvironmentRepo;
  private readonly drivers: Backends;
  private readonly envs: ReconcileHooks;
  private readonly log: Logger;
  private readonly gpus?: GpuService;

  constructor(o: ReconcilerOptions) {
    this.repo = o.repo;
    this.drivers = o.backends;
    this.envs = o.envs;
    this.log = o.log;
    this.gpus = o.gpus;
  }

  startLoop(intervalS: number): void {
    this.timer = setInterval(
      () => void this.run().catch((err) => this.log.error({ err: String(err) }, 'reconcile failed')),
      intervalS * 1000,
    );
    this.timer.unref();
  }
  stopLoop(): void {
    clearInterval(this.timer);
  }

  /** One pass over all backends; concurrent callers share the pass in progress. */
  run(): Promise<ReconcileReport[]> {
    this.running ??= Promise.all(this.drivers.all().map((d) => this.reconcileBackend(d))).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async reconcileBackend(driver: Driver): Promise<ReconcileReport> {
    const report: ReconcileReport = {
      backend: driver.id,
      available: true,
      resumed: [],
      adopted: [],
      orphans: [],
      markedMissing: [],
      statusSynced: [],
    };
    let objects: ManagedObject[];
    try {
      objects = await driver.list();
    } catch (err) {
      if (err instanceof BackendUnavailableError) return { ...report, available: false };
      throw err;
    }
    const rows = await this.repo.list({ backend_id: driver.id });
    const byEnv = new Map(objects.map((o) => [o.envId, o]));
    for (const env of rows) {
      if (!this.envs.isBusy(env.id)) await this.reconcileRow(driver, env, byEnv.get(env.id), report);
    }

    // GPU grants follow what runs: released for envs that don't, restored for running ones that lost them.
    if (this.gpus) {
      const g = await this.gpus.reconcile(await this.repo.list({ backend_id: driver.id }));
      if (g.released || g.restored) this.log.info({ backend: driver.id, ...g }, 'GPU grants reconciled');
    }
    this.reportOrphans(driver, objects, new Set(rows.map((r) => r.id)), report);
    if (report.resumed.length + report.adopted.length + report.markedMissing.length + report.statusSynced.length) {
      this.log.info(report, 'reconciled');
    }
    return report;
  }

  private async reconcileRow(
    driver: Driver,
    env: Environment,
    obj: ManagedObject | undefined,
    report: ReconcileReport,
  ): Promise<void> {
    if (env.status === 'deleting') {
      this.envs.resumeDelete(env.id);
      report.resumed.push(env.name);
      return;
    }
    if (env.status === 'starting' && env.backend_ref) {
      // Interrupted start of an existing container: finish it; never treat it as a fresh create.
      this.envs.resumeStart(env.id);
      report.resumed.push(env.name);
      return;
    }
    if (env.status === 'creating' || env.status === 'starting') {
      // Interrupted create: the container (if any) is found by its labels and adopted.
      if (obj && !env.backend_ref) {
        await this.repo.update(env.id, { backend_ref: obj.ref });
        report.adopted.push(env.name);
      }
      if (env.status === 'starting') await this.envs.setStatus(env, ['starting'], 'creating');
      this.envs.resumeProvision(env.id);
      report.resumed.push(env.name);
      return;
    }
    if (!env.backend_ref) return;
    if (!obj) {
      if (env.status !== 'missing') {
        await this.envs.setStatus(env, [env.status], 'missing', `removed from backend '${driver.id}' outside Hangar`);
        report.markedMissing.push(env.name);
      }
      return;
    }
    if (obj.ref !== env.backend_ref) await this.repo.update(env.id, { backend_ref: obj.ref });
    const want = this.statusFor(env, obj.state);
    if (want && want !== env.status) {
      await this.envs.setStatus(
        env,
        [env.status],
        want,
        obj.message ?? (want === 'stopped' ? 'stopped outside Hangar' : null),
      );
      report.statusSynced.push(env.name);
    }
  }

  /** Ours (this gateway's label) but no row: rows are written before objects and removed after them, so this
   *  comes from a restored database or another data dir. Someone's live work: an admin decides (/orphans). */
  private reportOrphans(driver: Driver, objects: ManagedObject[], known: Set<string>, report: ReconcileReport): void {
    for (const obj of objects) if (!known.has(obj.envId)) report.orphans.push(obj.envId);
    // Said once per change, not every pass.
    const said = report.orphans.join(',');
    if (said !== (this.orphansSaid.get(driver.id) ?? '') && report.orphans.length)
      this.log.warn(
        { backend: driver.id, orphans: report.orphans },
        'objects with no row kept for an admin to adopt or remove (GET /api/v1/orphans)',
      );
    this.orphansSaid.set(driver.id, said);
  }

  private statusFor(env: Environment, state: BackendState): Environment['status'] | undefined {
    if (['stopping', 'starting'].includes(env.status)) return undefined; // an operation owns it
    if (state === 'running') return 'running';
    // 'created': made but not (yet) running — e.g. a Kubernetes pod still Pending; not a stop behind our back.
    if (state === 'stopped') return 'stopped';
    if (state === 'failed') return 'failed';
    return undefined;
  }
}

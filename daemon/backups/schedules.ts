// Backup schedules (one per env or volume: a croner cron in an IANA time zone, keep N) and the loop that runs them.
// A run is due when the schedule's next time after its last run (or its creation) has come on the clock; tests move
// the clock and call tick(). A scheduled run that fails is recorded as a failed backup with the reason.
import crypto from 'node:crypto';
import type { User } from '../../common/model';
import type { BackupSchedule, PutBackupScheduleInput } from '../../common/snapshots';
import { nextRun } from '../environments/deadline';
import { NotFoundError } from '../errors';
import type { Logger } from '../log';
import type { BackupRepo, ScheduleRow } from '../store/backups';
import type { BackupService } from './service';

export interface ScheduleDeps {
  repo: BackupRepo;
  backups: BackupService;
  users: { get(id: string): Promise<User | undefined> };
  log: Logger;
  now: () => number;
}

export class BackupSchedules {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  constructor(private readonly o: ScheduleDeps) {}

  private withNext(s: ScheduleRow): BackupSchedule {
    const { owner_id: _o, ...rest } = s;
    const after = Date.parse(s.last_run_at ?? s.created_at);
    const next = s.enabled ? nextRun(s.cron, s.timezone, after) : null;
    return { ...rest, next_run_at: next === null ? null : new Date(next).toISOString() };
  }

  async list(actor: User): Promise<BackupSchedule[]> {
    return (await this.o.repo.schedules(actor.role === 'admin' ? undefined : actor.id)).map((s) => this.withNext(s));
  }

  async put(actor: User, req: PutBackupScheduleInput): Promise<BackupSchedule> {
    const plan = await this.o.backups.target(actor, req);
    this.o.backups.method(plan);
    const row = await this.o.repo.putSchedule({
      id: crypto.randomUUID(),
      target_kind: plan.kind,
      target_id: plan.id,
      owner_id: actor.id,
      cron: req.cron,
      timezone: req.timezone,
      keep: req.keep,
      enabled: req.enabled ? 1 : 0,
      created_at: new Date(this.o.now()).toISOString(),
    });
    return this.withNext(row);
  }

  async delete(actor: User, id: string): Promise<void> {
    const s = await this.o.repo.schedule(id);
    if (!s || (actor.role !== 'admin' && s.owner_id !== actor.id)) throw new NotFoundError('backup schedule', id);
    await this.o.repo.deleteSchedule(id);
  }

  /** Runs every due schedule once (one at a time); returns when they are done. */
  tick(): Promise<void> {
    this.running ??= this.runDue().finally(() => (this.running = undefined));
    return this.running;
  }

  private async runDue(): Promise<void> {
    const now = this.o.now();
    for (const s of await this.o.repo.schedules()) {
      const next = s.enabled ? nextRun(s.cron, s.timezone, Date.parse(s.last_run_at ?? s.created_at)) : null;
      if (next === null || next > now) continue;
      await this.o.repo.setLastRun(s.id, new Date(now).toISOString());
      const owner = await this.o.users.get(s.owner_id);
      if (!owner) continue;
      const target = s.target_kind === 'environment' ? { environment: s.target_id } : { volume: s.target_id };
      await this.o.backups
        .run(owner, target, 'schedule', s.keep)
        .catch((err) =>
          this.o.log.warn({ schedule: s.id, target: s.target_id, err: String(err) }, 'scheduled backup failed'),
        );
    }
  }

  startLoop(intervalS: number): void {
    this.timer = setInterval(() => void this.tick(), intervalS * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}

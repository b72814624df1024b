// One lifecycle operation per env at a time: a second is a 409, reconcile skips what is busy, and work queued
// for "when it's done" (a watched status that came meanwhile) runs when it ends.
import { ConflictError } from '../errors';
import type { Logger } from '../log';

export class OperationLock {
  private readonly busy = new Map<string, Promise<unknown>>();
  /** What runs when the operation on an env ends; the latest one wins. */
  private readonly after = new Map<string, () => void>();

  constructor(private readonly o: { log: Logger }) {}

  isBusy(id: string): boolean {
    return this.busy.has(id);
  }

  /** Runs `fn` when the operation on `id` ends (replacing what was queued before). */
  whenDone(id: string, fn: () => void): void {
    this.after.set(id, fn);
  }

  /** Settles when the operation in flight on `id` (if any) has. */
  async settled(id: string): Promise<void> {
    await this.busy.get(id)?.catch(() => undefined);
  }

  /** Background work on an env (provisioning, resumes): errors are logged, not thrown. */
  track(id: string, fn: () => Promise<void>): void {
    const p = fn()
      .catch((err) => this.o.log.error({ env: id, err: String(err) }, 'background work failed'))
      .finally(() => {
        if (this.busy.get(id) === p) this.done(id);
      });
    this.busy.set(id, p);
  }

  /** Runs one lifecycle operation on an env; a second one at the same time is a 409. */
  async exclusive<T>(id: string, fn: () => Promise<T>): Promise<T> {
    if (this.busy.has(id)) throw new ConflictError('another operation on this environment is in progress');
    const p = fn();
    const settled = p.catch(() => undefined);
    this.busy.set(id, settled);
    try {
      return await p;
    } finally {
      if (this.busy.get(id) === settled) this.done(id);
    }
  }

  /** Settles when no lifecycle work is in flight (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.busy.size) await Promise.allSettled([...this.busy.values()]);
  }

  private done(id: string): void {
    this.busy.delete(id);
    const fn = this.after.get(id);
    this.after.delete(id);
    fn?.();
  }
}

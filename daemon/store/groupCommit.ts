// Group commit: the transactions callers ask for while one is running (or in the same tick) run together as one
// database transaction, each caller's work in a savepoint of its own. A caller that throws rolls back only its own
// work and gets its error; the others commit together, and each caller's promise settles only after that commit
// (a crash before it leaves none of them, as separate transactions would). One BEGIN/COMMIT and one read of shared
// state (see daemon/gpu/ledger.ts) per batch instead of per caller.
//
// Inside `fn`: use the transaction it is given, never the database itself and never run() again (both would wait
// for this very batch to finish). SQLite and PostgreSQL both have SAVEPOINT / ROLLBACK TO / RELEASE.
import { sql, type Kysely, type Transaction } from 'kysely';

interface Job<DB> {
  fn: (trx: Transaction<DB>) => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (err: unknown) => void;
}

export interface GroupCommitOptions<DB> {
  /** Most callers in one transaction (the connection is held for all of them). */
  maxBatch?: number;
  /** Called before each caller's savepoint; the function it returns is called if that savepoint is rolled back
   *  (state kept beside the transaction, e.g. what it read, is undone with it). */
  savepoint?: (trx: Transaction<DB>) => () => void;
}

export class GroupCommit<DB> {
  private queue: Job<DB>[] = [];
  private busy = false;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly o: GroupCommitOptions<DB> = {},
  ) {}

  run<T>(fn: (trx: Transaction<DB>) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (this.busy) return;
      this.busy = true;
      // The callers that arrive in this tick join the first batch; later ones the next.
      setImmediate(() => void this.drain());
    });
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length) await this.batch(this.queue.splice(0, this.o.maxBatch ?? 256));
    } finally {
      this.busy = false;
    }
  }

  private async batch(jobs: Job<DB>[]): Promise<void> {
    let trx;
    try {
      trx = await this.db.startTransaction().execute();
    } catch (err) {
      for (const j of jobs) j.reject(err);
      return;
    }
    const done: [Job<DB>, unknown][] = [];
    try {
      for (const j of jobs) await this.one(trx, j, jobs.length > 1, done);
      await trx.commit().execute();
    } catch (err) {
      // The transaction itself failed (savepoint, commit): nothing of the batch is kept.
      await trx
        .rollback()
        .execute()
        .catch(() => undefined);
      for (const [j] of done) j.reject(err);
      for (const j of jobs.filter((x) => !done.some(([d]) => d === x))) j.reject(err);
      return;
    }
    for (const [j, v] of done) j.resolve(v);
  }

  /** One caller's work: in a savepoint when it shares the transaction (alone, its error rolls back everything). */
  private async one(trx: Transaction<DB>, j: Job<DB>, shared: boolean, done: [Job<DB>, unknown][]): Promise<void> {
    if (!shared) {
      done.push([j, await j.fn(trx)]);
      return;
    }
    await sql.raw('savepoint hangar_caller').execute(trx);
    const undo = this.o.savepoint?.(trx);
    let value: unknown;
    try {
      value = await j.fn(trx);
    } catch (err) {
      await sql.raw('rollback to savepoint hangar_caller').execute(trx);
      await sql.raw('release savepoint hangar_caller').execute(trx);
      undo?.();
      j.reject(err);
      return;
    }
    await sql.raw('release savepoint hangar_caller').execute(trx);
    done.push([j, value]);
  }
}

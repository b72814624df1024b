// The audit trail: append-only rows (the database refuses UPDATE and DELETE, migration 010), read newest first by
// id, a cursor being the last id seen.
import type { Kysely } from 'kysely';
import type { Database } from './schema';

export interface AuditInput {
  user_id: string | null;
  action: string;
  target?: string | null;
  detail?: unknown;
  client?: string | null;
  address?: string | null;
  result?: string | null;
  status?: number | null;
}

/** Where a record made during an API request goes: the request's pending entry (written once, with its result, when
 *  the answer is known). Absent or answering false: written now. */
export type AuditScope = (e: AuditInput) => boolean;

export interface AuditFilter {
  limit: number;
  /** Entries older than this id (the previous page's next_cursor). */
  before?: number;
  user_id?: string;
  action?: string;
  target?: string;
  since?: string;
  until?: string;
}

export class AuditRepo {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly scope?: AuditScope,
  ) {}

  /** A fact from a service: merged into the current request's entry when there is one, else written now. */
  async record(e: AuditInput): Promise<void> {
    if (this.scope?.(e)) return;
    await this.append(e);
  }

  async append(e: AuditInput): Promise<void> {
    await this.db
      .insertInto('audit_log')
      .values({
        at: new Date().toISOString(),
        user_id: e.user_id,
        action: e.action,
        target: e.target ?? null,
        detail: e.detail === undefined ? null : JSON.stringify(e.detail),
        client: e.client ?? null,
        address: e.address ?? null,
        result: e.result ?? 'ok',
        status: e.status ?? null,
      })
      .execute();
  }

  async list(f: AuditFilter) {
    let q = this.db
      .selectFrom('audit_log')
      .leftJoin('users', 'users.id', 'audit_log.user_id')
      .selectAll('audit_log')
      .select('users.name as user');
    if (f.before !== undefined) q = q.where('audit_log.id', '<', f.before);
    if (f.user_id !== undefined) q = q.where('audit_log.user_id', '=', f.user_id);
    if (f.action !== undefined)
      q = f.action.endsWith('.*')
        ? q.where('audit_log.action', 'like', `${f.action.slice(0, -1)}%`)
        : q.where('audit_log.action', '=', f.action);
    if (f.target !== undefined) q = q.where('audit_log.target', '=', f.target);
    if (f.since !== undefined) q = q.where('audit_log.at', '>=', f.since);
    if (f.until !== undefined) q = q.where('audit_log.at', '<', f.until);
    return q.orderBy('audit_log.id', 'desc').limit(f.limit).execute();
  }
}

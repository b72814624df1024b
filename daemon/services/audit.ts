// The audit trail as admins read and export it, and the one place API actions are recorded: every mutating request
// (and every request a service records a fact for) becomes one row with who, what, which target, from which client
// and address, and the result — written when the answer is known, so failures are in the trail too.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { AuditEntry, AuditPage, User } from '../../common/model';
import type { AuditQuery } from '../../common/schemas';
import { ForbiddenError, statusFor } from '../errors';
import type { AuditInput, AuditRepo, AuditScope } from '../store/audit';
import type { UserRepo } from '../store/users';
import { actionOf } from './auditActions';

export const AUDIT_PAGE_MAX = 5000;

/** What one API request has gathered for its row so far. */
export interface PendingAudit {
  method: string;
  path: string;
  client: string | null;
  address: string | null;
  fact?: AuditInput;
  /** Recorded even when it reads nothing and fails first (tunnels: the opening is the event). */
  always?: boolean;
}

const requests = new AsyncLocalStorage<PendingAudit>();

/** Handed to the AuditRepo: a service's first fact during a request becomes that request's row; later ones are
 *  written at once, with the request's client and address. */
export const auditScope: AuditScope = (e) => {
  const p = requests.getStore();
  if (!p) return false;
  if (!p.fact) {
    p.fact = e;
    return true;
  }
  e.client ??= p.client;
  e.address ??= p.address;
  return false;
};

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export class AuditService {
  private readonly writes = new Set<Promise<void>>();
  constructor(private readonly o: { repo: AuditRepo; users: UserRepo; onError?: (err: unknown) => void }) {}

  /** Runs the rest of a request with a pending row. */
  track(p: PendingAudit, next: () => void): void {
    requests.run(p, next);
  }

  /** `fn` with a pending row, written when it settles (WebSocket upgrades: there is no response to wait for). */
  async around<T>(p: PendingAudit, user: User, fn: () => Promise<T>): Promise<T> {
    try {
      const v = await requests.run(p, fn);
      this.finish(p, { user, status: 101 });
      return v;
    } catch (err) {
      this.finish(p, { user, status: statusFor(err), errorCode: (err as { code?: string }).code ?? 'internal' });
      throw err;
    }
  }

  /** The request's answer is out: its row is written (mutations and requests a service recorded for only). */
  finish(p: PendingAudit, r: { user: User | undefined; status: number; errorCode?: string }): void {
    if (!p.fact && !p.always && !MUTATING.has(p.method)) return;
    const route = actionOf(p.method, p.path);
    const row: AuditInput = {
      user_id: p.fact?.user_id ?? r.user?.id ?? null,
      action: p.fact?.action ?? route.action,
      target: p.fact?.target ?? route.target ?? null,
      detail: p.fact?.detail,
      client: p.client,
      address: p.address,
      status: r.status,
      result: r.status < 400 ? 'ok' : (r.errorCode ?? `http_${r.status}`),
    };
    const w = this.o.repo.append(row).catch((err) => this.o.onError?.(err));
    this.writes.add(w);
    void w.finally(() => this.writes.delete(w));
  }

  async list(actor: User, q: AuditQuery): Promise<AuditPage> {
    if (actor.role !== 'admin') throw new ForbiddenError('the audit log is for admins');
    await Promise.all([...this.writes]);
    const limit = Math.min(q.limit ?? 200, AUDIT_PAGE_MAX);
    let user_id: string | undefined;
    if (q.user !== undefined) user_id = (await this.o.users.byName(q.user))?.id ?? '(no such user)';
    const rows = await this.o.repo.list({
      limit,
      before: q.cursor === undefined ? undefined : Number(q.cursor),
      user_id,
      action: q.action,
      target: q.target,
      since: q.since,
      until: q.until,
    });
    const entries = rows as AuditEntry[];
    const next_cursor = entries.length === limit ? String(entries[entries.length - 1].id) : null;
    return { entries, next_cursor };
  }
}

const CSV_COLUMNS = [
  'id',
  'at',
  'user',
  'action',
  'target',
  'result',
  'status',
  'client',
  'address',
  'detail',
] as const;

/** A CSV field: quoted when it needs to be; a leading = + - @ is defused so spreadsheets don't run it. */
function csvField(v: unknown): string {
  let s = v === null || v === undefined ? '' : String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n']/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function auditText(entries: AuditEntry[], format: 'jsonl' | 'csv'): string {
  if (format === 'jsonl') return entries.map((e) => JSON.stringify(e) + '\n').join('');
  const lines = [CSV_COLUMNS.join(',')];
  for (const e of entries) lines.push(CSV_COLUMNS.map((c) => csvField(e[c])).join(','));
  return lines.join('\r\n') + '\r\n';
}

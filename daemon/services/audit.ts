// The audit log as admins read it (newest first; at most 5000 entries a page).
import type { User } from '../../common/model';
import { ForbiddenError } from '../errors';
import type { AuditRepo } from '../store/users';

export const AUDIT_PAGE_MAX = 5000;

export class AuditService {
  private readonly repo: AuditRepo;
  constructor(o: { repo: AuditRepo }) {
    this.repo = o.repo;
  }

  async list(actor: User, limit = 200) {
    if (actor.role !== 'admin') throw new ForbiddenError('the audit log is for admins');
    return this.repo.list(Math.min(limit, AUDIT_PAGE_MAX));
  }
}

// Backends and their reachability; the audit log (admin).
import { Router } from 'express';
import { auditQuery } from '../../../common/schemas';
import type { AuditService } from '../../services/audit';
import type { BackendService } from '../../services/backends';
import { userOf } from '../auth';
import { parse } from '../validate';

export function backendsRouter(backends: BackendService, audit: AuditService): Router {
  const r = Router();
  r.get('/backends', async (_req, res) => {
    res.json(await backends.list());
  });
  r.get('/audit', async (req, res) => {
    res.json(await audit.list(userOf(res), parse(auditQuery, req.query).limit ?? 200));
  });
  return r;
}

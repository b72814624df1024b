import { Router } from 'express';
import type { BackendInfo } from '../../../common/model';
import { auditQuery } from '../../../common/schemas';
import type { DriverRegistry } from '../../backends/registry';
import type { AuditRepo } from '../../store/users';
import { requireAdmin } from '../auth';
import { parse } from '../validate';

export function backendsRouter(drivers: DriverRegistry, audit: AuditRepo): Router {
  const r = Router();
  // One backend's failure is data beside the others' results, not a failed request.
  r.get('/backends', async (_req, res) => {
    const out: BackendInfo[] = await Promise.all(drivers.all().map((d) => d.info().catch((err: Error) => ({
      id: d.id, kind: d.kind, url: '', available: false, error: err.message,
    }))));
    res.json(out.map((b) => ({ ...b, default: b.id === drivers.defaultId })));
  });
  r.get('/audit', async (req, res) => {
    requireAdmin(res);
    res.json(await audit.list(Math.min(parse(auditQuery, req.query).limit ?? 200, 5000)));
  });
  return r;
}

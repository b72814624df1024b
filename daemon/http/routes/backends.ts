// Backends and their reachability; the audit trail (admin): a JSON page, or JSON lines / CSV text to export.
import { Router } from 'express';
import { auditQuery } from '../../../common/schemas';
import { auditText, type AuditService } from '../../services/audit';
import type { BackendService } from '../../services/backends';
import { userOf } from '../auth';
import { parse } from '../validate';

export function backendsRouter(backends: BackendService, audit: AuditService): Router {
  const r = Router();
  r.get('/backends', async (_req, res) => {
    res.json(await backends.list());
  });
  r.get('/audit', async (req, res) => {
    const q = parse(auditQuery, req.query);
    const page = await audit.list(userOf(res), q);
    if (q.format === undefined || q.format === 'json') {
      res.json(page);
      return;
    }
    if (page.next_cursor) res.setHeader('x-next-cursor', page.next_cursor);
    res.type(q.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8');
    res.send(auditText(page.entries, q.format));
  });
  return r;
}

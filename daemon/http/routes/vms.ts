import { Router } from 'express';
import { createSnapshotSchema, importTemplateSchema, templatesQuery } from '../../../common/schemas';
import type { VmService } from '../../services/vms';
import { requireAdmin, userOf } from '../auth';
import { parse } from '../validate';

/** VM templates (per libvirt backend) and an env's snapshots. */
export function vmsRouter(vms: VmService): Router {
  const r = Router();
  r.get('/templates', async (req, res) => {
    res.json(await vms.templates(parse(templatesQuery, req.query).backend_id));
  });
  r.post('/backends/:backend/templates', async (req, res) => {
    const u = requireAdmin(res);
    const ac = new AbortController();
    res.on('close', () => {
      if (!res.writableEnded) ac.abort();
    });
    const t = await vms.importTemplate(u, req.params.backend, parse(importTemplateSchema, req.body ?? {}), ac.signal);
    res.status(201).json(t);
  });
  r.delete('/backends/:backend/templates/:name', async (req, res) => {
    await vms.deleteTemplate(requireAdmin(res), req.params.backend, req.params.name);
    res.status(204).end();
  });

  r.get('/environments/:id/snapshots', async (req, res) => {
    res.json(await vms.list(userOf(res), req.params.id));
  });
  r.post('/environments/:id/snapshots', async (req, res) => {
    const b = parse(createSnapshotSchema, req.body ?? {});
    res.status(201).json(await vms.create(userOf(res), req.params.id, b.name, b.description));
  });
  r.post('/environments/:id/snapshots/:name/revert', async (req, res) => {
    res.json(await vms.revert(userOf(res), req.params.id, req.params.name));
  });
  r.delete('/environments/:id/snapshots/:name', async (req, res) => {
    await vms.delete(userOf(res), req.params.id, req.params.name);
    res.status(204).end();
  });
  return r;
}

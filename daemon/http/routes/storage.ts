// Volumes (a minimal listing; the full volumes API comes later) and orphans (admin only).
import { Router } from 'express';
import { adoptOrphanSchema } from '../../../common/schemas';
import type { OrphanService } from '../../services/orphans';
import type { VolumeService } from '../../services/volumes';
import { requireAdmin, userOf } from '../auth';
import { parse } from '../validate';

export function storageRouter(volumes: VolumeService, orphans: OrphanService): Router {
  const r = Router();
  // One's own volumes and one's team's; admins: all.
  r.get('/volumes', async (_req, res) => {
    res.json(await volumes.list(userOf(res)));
  });

  r.get('/orphans', async (_req, res) => {
    requireAdmin(res);
    res.json(await orphans.list());
  });
  r.post('/orphans/:ref/adopt', async (req, res) => {
    const u = requireAdmin(res);
    res.status(201).json(await orphans.adopt(u, req.params.ref, parse(adoptOrphanSchema, req.body ?? {})));
  });
  r.delete('/orphans/:ref', async (req, res) => {
    await orphans.remove(requireAdmin(res), req.params.ref);
    res.status(204).end();
  });
  return r;
}

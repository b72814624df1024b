// Volumes (owned objects: list/create/get/delete/resize), what a user may mount (/storage), and orphans (admin only).
import { Router } from 'express';
import { adoptOrphanSchema, createVolumeSchema, resizeVolumeSchema } from '../../../common/schemas';
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
  r.post('/volumes', async (req, res) => {
    res.status(201).json(await volumes.create(userOf(res), parse(createVolumeSchema, req.body ?? {})));
  });
  r.get('/volumes/:id', async (req, res) => {
    res.json(await volumes.get(userOf(res), req.params.id));
  });
  r.patch('/volumes/:id', async (req, res) => {
    const { size_gb } = parse(resizeVolumeSchema, req.body ?? {});
    res.json(await volumes.resize(userOf(res), req.params.id, size_gb));
  });
  r.delete('/volumes/:id', async (req, res) => {
    await volumes.remove(userOf(res), req.params.id);
    res.status(204).end();
  });
  r.get('/storage', async (_req, res) => {
    res.json(await volumes.storage(userOf(res)));
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

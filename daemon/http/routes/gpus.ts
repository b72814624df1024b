import { Router } from 'express';
import { gpuUsageQuery } from '../../../common/lifecycle';
import { gpusQuery } from '../../../common/schemas';
import type { GpuService } from '../../gpu/service';
import { userOf } from '../auth';
import { parse } from '../validate';

export function gpusRouter(gpus: GpuService): Router {
  const r = Router();
  // Everyone sees the inventory and what is free; holders' names only for one's own envs (admins: all).
  r.get('/gpus', async (req, res) => {
    const q = parse(gpusQuery, req.query);
    const u = userOf(res);
    res.json(
      await gpus.list({
        backend: q.backend,
        model: q.model,
        free: q.free === 'true',
        ownerId: u.role === 'admin' ? undefined : u.id,
      }),
    );
  });
  r.get('/gpus/usage', async (req, res) => {
    res.json(await gpus.usage(userOf(res), parse(gpuUsageQuery, req.query)));
  });
  r.post('/gpus/refresh', async (_req, res) => {
    res.json(await gpus.refresh());
  });
  return r;
}

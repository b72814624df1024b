// Profiles: listed for who may use them; defined, changed and deleted by admins (API-defined ones only).
import { Router } from 'express';
import { profileSchema, updateProfileSchema } from '../../../common/profiles';
import type { ProfileService } from '../../profiles/service';
import { userOf } from '../auth';
import { parse } from '../validate';

export function profilesRouter(profiles: ProfileService): Router {
  const r = Router();
  r.get('/', async (_req, res) => {
    res.json(await profiles.list(userOf(res)));
  });
  r.post('/', async (req, res) => {
    const p = await profiles.create(userOf(res), parse(profileSchema, req.body ?? {}));
    res.status(201).location(`/api/v1/profiles/${p.name}`).json(p);
  });
  r.get('/:name', async (req, res) => {
    res.json(await profiles.get(userOf(res), req.params.name));
  });
  r.put('/:name', async (req, res) => {
    // Unknown keys (a name among them) are refused first; then the whole profile is checked as on create.
    parse(updateProfileSchema, req.body ?? {});
    const p = parse(profileSchema, { ...req.body, name: req.params.name });
    res.json(await profiles.update(userOf(res), p));
  });
  r.delete('/:name', async (req, res) => {
    await profiles.delete(userOf(res), req.params.name);
    res.status(204).end();
  });
  return r;
}

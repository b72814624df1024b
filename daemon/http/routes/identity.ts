// Users, API tokens and SSH keys.
import { Router } from 'express';
import { addSshKeySchema, createUserSchema, issueTokenSchema } from '../../../common/schemas';
import type { AuthService } from '../../services/auth';
import type { SshKeyService } from '../../services/keys';
import { userOf } from '../auth';
import { parse } from '../validate';

export function identityRouter(auth: AuthService, keys: SshKeyService): Router {
  const r = Router();
  r.get('/me', (_req, res) => {
    res.json(userOf(res));
  });

  r.get('/users', async (_req, res) => {
    res.json(await auth.listUsers(userOf(res)));
  });
  r.post('/users', async (req, res) => {
    const { name, role, team } = parse(createUserSchema, req.body ?? {});
    res.status(201).json(await auth.createUser(userOf(res), name, role, team));
  });

  r.get('/tokens', async (_req, res) => {
    res.json(await auth.listTokens(userOf(res)));
  });
  r.post('/tokens', async (req, res) => {
    const { name } = parse(issueTokenSchema, req.body ?? {});
    res.status(201).json({ name, token: await auth.issueToken(userOf(res).id, name) });
  });
  r.delete('/tokens/:id', async (req, res) => {
    await auth.revokeToken(userOf(res), req.params.id);
    res.status(204).end();
  });

  r.get('/ssh-keys', async (_req, res) => {
    res.json(await keys.list(userOf(res).id));
  });
  r.post('/ssh-keys', async (req, res) => {
    const body = parse(addSshKeySchema, req.body ?? {});
    const u = userOf(res);
    // A generated private key is returned once and never stored.
    const key =
      'generate' in body
        ? await keys.generate(u.id, body.name, `${u.name}@hangar`)
        : await keys.add(u.id, body.name, body.public_key);
    res.status(201).json(key);
  });
  r.delete('/ssh-keys/:id', async (req, res) => {
    await keys.remove(userOf(res).id, req.params.id);
    res.status(204).end();
  });
  return r;
}

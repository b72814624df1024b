// JumpServer: whether it answers and as whom; drift repair (admin); an env's connection token and its JumpServer
// sessions/commands (owner or admin; another user's env is 404 like everywhere); an env's RDP login (through
// JumpServer when it is registered there, else direct).
import { Router } from 'express';
import type { EnvironmentService } from '../../environments/service';
import { NotFoundError } from '../../errors';
import type { JumpServerService } from '../../services/jumpserver';
import { connectionToken, sessionsOf, unavailable } from '../../services/jumpserverAccess';
import { reconcileJumpServer } from '../../services/jumpserverReconcile';
import { rdpLogin } from '../../services/rdp';
import { requireAdmin, userOf } from '../auth';

export function jumpserverRouter(envs: EnvironmentService, js: JumpServerService | undefined): Router {
  const r = Router();
  const configured = () => {
    if (!js) throw new NotFoundError('configuration', 'jumpserver');
    return js;
  };
  r.get('/jumpserver', async (_req, res) => {
    res.json(js ? await js.status() : { configured: false });
  });
  r.post('/jumpserver/reconcile', async (_req, res) => {
    requireAdmin(res);
    res.json(await reconcileJumpServer(configured()).catch(unavailable));
  });
  r.post('/environments/:id/connection-token', async (req, res) => {
    const env = await envs.get(userOf(res), req.params.id);
    res.status(201).json(await connectionToken(configured(), userOf(res), env));
  });
  // POST: through JumpServer it mints a connection token (and the request is in the audit trail).
  r.post('/environments/:id/rdp', async (req, res) => {
    res.json(await rdpLogin(envs, js, userOf(res), req.params.id));
  });
  r.get('/environments/:id/sessions', async (req, res) => {
    const env = await envs.get(userOf(res), req.params.id);
    res.json(await sessionsOf(configured(), env));
  });
  return r;
}

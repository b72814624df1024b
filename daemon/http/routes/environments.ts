import { Router } from 'express';
import {
  createEnvironmentSchema,
  listEnvironmentsQuery,
  logsQuery,
  rotateSecretSchema,
  tunnelQuery,
  updateEnvironmentSchema,
} from '../../../common/schemas';
import { extendSchema } from '../../../common/lifecycle';
import { UpgradeRequiredError } from '../../errors';
import { SESSION_PARAM, type JupyterSessions } from '../../services/jupyterSessions';
import type { EnvironmentService } from '../../environments/service';
import { userOf } from '../auth';
import { parse } from '../validate';

export function environmentsRouter(envs: EnvironmentService, sessions: JupyterSessions): Router {
  const r = Router();

  r.get('/', async (req, res) => {
    const q = parse(listEnvironmentsQuery, req.query);
    res.json(await envs.list(userOf(res), { ...q, status: q.status?.split(','), owner_id: q.owner }));
  });

  r.post('/', async (req, res) => {
    const input = parse(createEnvironmentSchema, req.body ?? {});
    const env = await envs.create(userOf(res), input);
    res.status(202).location(`/api/v1/environments/${env.id}`).json(env);
  });

  r.get('/:id', async (req, res) => {
    res.json(await envs.get(userOf(res), req.params.id));
  });

  r.patch('/:id', async (req, res) => {
    res.json(await envs.update(userOf(res), req.params.id, parse(updateEnvironmentSchema, req.body ?? {})));
  });

  r.delete('/:id', async (req, res) => {
    await envs.delete(userOf(res), req.params.id);
    res.status(204).end();
  });

  r.post('/:id/start', async (req, res) => {
    res.json(await envs.start(userOf(res), req.params.id));
  });
  r.post('/:id/stop', async (req, res) => {
    res.json(await envs.stop(userOf(res), req.params.id));
  });
  r.post('/:id/restart', async (req, res) => {
    res.json(await envs.restart(userOf(res), req.params.id));
  });

  r.post('/:id/extend', async (req, res) => {
    const b = parse(extendSchema, req.body ?? {});
    res.json(await envs.extend(userOf(res), req.params.id, b.minutes ?? Math.round(b.hours! * 60)));
  });

  r.get('/:id/connection', async (req, res) => {
    res.json(await envs.connection(userOf(res), req.params.id));
  });

  accessRoutes(r, envs, sessions);
  return r;
}

/** Jupyter session links, secret rotation, logs and the tunnel: how a person reaches a running env. */
function accessRoutes(r: Router, envs: EnvironmentService, sessions: JupyterSessions): void {
  // A one-minute link that opens the env's Jupyter in any browser (it turns into an env-scoped cookie).
  r.post('/:id/jupyter-session', async (req, res) => {
    const u = userOf(res);
    const env = await envs.get(u, req.params.id);
    await envs.jupyterToken(u, env.id);
    const { url } = (await envs.connection(u, env.id)).jupyter!;
    res
      .status(201)
      .json({ url: `${url}?${SESSION_PARAM}=${sessions.issue('link', u.id, env.id, 60_000)}`, expires_in: 60 });
  });

  r.post('/:id/rotate', async (req, res) => {
    const { secret } = parse(rotateSecretSchema, req.body ?? {});
    res.json(await envs.rotateSecret(userOf(res), req.params.id, secret));
  });

  r.get('/:id/logs', async (req, res) => {
    const q = parse(logsQuery, req.query);
    const tail = q.tail ?? 100;
    const follow = q.follow === 'true' || q.follow === '1';
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    const stream = await envs.logs(userOf(res), req.params.id, { tail, follow, signal: abort.signal });
    res.status(200).type('text/plain; charset=utf-8');
    if (follow) res.flushHeaders();
    stream.pipe(res);
  });

  // The tunnel is a WebSocket (or raw-TCP) upgrade, answered in ../websocket.ts; a plain GET can't be one.
  r.get('/:id/tunnel', (req) => {
    parse(tunnelQuery, req.query);
    throw new UpgradeRequiredError();
  });
}

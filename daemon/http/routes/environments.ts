import { Router, type RequestHandler } from 'express';
import {
  createEnvironmentSchema,
  listEnvironmentsQuery,
  ENV_PAGE_MAX,
  logsQuery,
  rotateSecretSchema,
  tunnelQuery,
  updateEnvironmentSchema,
} from '../../../common/schemas';
import { createFromProfileSchema } from '../../../common/profiles';
import { extendMinutes, extendSchema } from '../../../common/lifecycle';
import { UpgradeRequiredError } from '../../errors';
import type { ProfileService } from '../../profiles/service';
import { SESSION_PARAM, type JupyterSessions } from '../../services/jupyterSessions';
import type { EnvironmentService } from '../../environments/service';
import { userOf } from '../auth';
import { parse } from '../validate';

/** GET /environments: all, or with limit/cursor one page. Pages keep the body an array (every older caller reads
 *  one); the next page is named in X-Next-Cursor. */
function listHandler(envs: EnvironmentService): RequestHandler {
  return async (req, res) => {
    const { limit, cursor, owner, ...q } = parse(listEnvironmentsQuery, req.query);
    const f = { ...q, status: q.status?.split(','), owner_id: owner };
    if (limit === undefined && cursor === undefined) {
      res.json(await envs.list(userOf(res), f));
      return;
    }
    const page = await envs.listPage(userOf(res), { ...f, limit: limit ?? ENV_PAGE_MAX, cursor });
    if (page.next_cursor) res.setHeader('x-next-cursor', page.next_cursor);
    res.json(page.envs);
  };
}

export function environmentsRouter(
  envs: EnvironmentService,
  sessions: JupyterSessions,
  profiles: ProfileService,
): Router {
  const r = Router();

  r.get('/', listHandler(envs));

  r.post('/', async (req, res) => {
    const u = userOf(res);
    const body = req.body ?? {};
    // With "profile": the profile's fields and the chosen options; without: the full form (if the role may).
    const { input, origin } =
      typeof body === 'object' && 'profile' in body
        ? await profiles.resolveCreate(u, parse(createFromProfileSchema, body))
        : (profiles.assertCustomAllowed(u), { input: parse(createEnvironmentSchema, body), origin: undefined });
    const env = await envs.create(u, input, origin);
    res.status(202).location(`/api/v1/environments/${env.id}`).json(env);
  });

  r.get('/:id', async (req, res) => {
    res.json(await envs.get(userOf(res), req.params.id));
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
    res.json(await envs.extend(userOf(res), req.params.id, extendMinutes(b)));
  });

  r.get('/:id/activity', async (req, res) => {
    res.json(await envs.activityOf(userOf(res), req.params.id));
  });

  r.get('/:id/connection', async (req, res) => {
    res.json(await envs.connection(userOf(res), req.params.id));
  });

  r.post('/:id/datasets/sync', async (req, res) => {
    res.json(await envs.syncDatasets(userOf(res), req.params.id));
  });
  accessRoutes(r, envs, sessions);
  profileRoutes(r, envs, profiles);
  return r;
}

/** A PATCH (refused for what a profile fixes) and what changed in the env's profile since. */
function profileRoutes(r: Router, envs: EnvironmentService, profiles: ProfileService): void {
  r.patch('/:id', async (req, res) => {
    const u = userOf(res);
    const patch = parse(updateEnvironmentSchema, req.body ?? {});
    profiles.assertPatchAllowed(u, await envs.get(u, req.params.id), patch);
    res.json(await envs.update(u, req.params.id, patch));
  });

  r.get('/:id/profile-drift', async (req, res) => {
    const u = userOf(res);
    res.json(await profiles.drift(u, await envs.get(u, req.params.id)));
  });
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

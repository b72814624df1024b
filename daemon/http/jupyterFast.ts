// The Jupyter proxy's common case served ahead of Express: an allowed method, a signed-in user (the session cookie
// or a bearer token) and their env. Every page, file and kernel call of a notebook comes this way, and Express's
// routing costs about as much here as Jupyter's own answer (bench/access.bench.ts). Everything else — a session
// link, a method Jupyter's API doesn't use, any refusal (401, 404, 409) — goes to Express untouched (nothing of
// the request has been read), which answers it as it always did (routes/jupyter.ts, the same checks).
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { User } from '../../common/model';
import type { EnvironmentService } from '../environments/service';
import type { Logger } from '../log';
import type { AuthService } from '../services/auth';
import { cookieValue, type JupyterSessions, SESSION_COOKIE, SESSION_PARAM } from '../services/jupyterSessions';
import { bearerOf } from './auth';
import { errorAnswer } from './errorMiddleware';
import type { JupyterPool } from './jupyterPool';
import { logWhenDone } from './requestLog';
import { forward, JUPYTER_METHODS } from './routes/jupyter';

export interface JupyterFastDeps {
  auth: AuthService;
  sessions: JupyterSessions;
  envs: EnvironmentService;
  pool: JupyterPool;
  frameAncestors: string[];
  log: Logger;
}

const PREFIX = /^\/api\/v1\/environments\/([^/?#]+)\/jupyter(?=[/?]|$)/;

export function withJupyterFastPath(app: RequestListener, d: JupyterFastDeps): RequestListener {
  return (req, res) => {
    const m = PREFIX.exec(req.url ?? '');
    const plain =
      m &&
      (JUPYTER_METHODS as readonly string[]).includes(req.method ?? '') &&
      !(req.url ?? '').includes(`${SESSION_PARAM}=`);
    if (!plain) return app(req, res);
    void serve(d, req, res, m).then(
      (served) => served || app(req, res),
      () => app(req, res),
    );
  };
}

/** Whether it took the request; false before anything was read or written. */
async function serve(d: JupyterFastDeps, req: IncomingMessage, res: ServerResponse, m: RegExpExecArray) {
  let id: string;
  try {
    id = decodeURIComponent(m[1]);
  } catch {
    return false; // Express answers 400 naming the path
  }
  const user = await signedIn(d, req, id);
  if (!user) return false;
  const access = await d.envs.jupyterAccess(user, id).catch(() => undefined);
  if (!access) return false;
  const url = req.url!;
  const path = url.split('?')[0];
  logWhenDone(d.log, req, res, path, () => user.name);
  const rest = url.slice(m[0].length) || '/';
  // Taken from here on: whatever fails is answered here, never handed to Express as well.
  const fail = (err: unknown) => {
    const { status, body } = errorAnswer(d.log, err, { method: req.method, path });
    if (res.headersSent) return void res.destroy();
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify({ error: body }));
  };
  try {
    forward(d, user, { envId: access.env.id, token: access.token, rest }, req, res, fail);
  } catch (err) {
    fail(err);
  }
  return true;
}

/** The env-scoped session cookie (without an Authorization header), else the bearer token; undefined: refused. */
async function signedIn(d: JupyterFastDeps, req: IncomingMessage, envId: string): Promise<User | undefined> {
  const fromCookie = d.sessions.verify('cookie', cookieValue(req.headers.cookie, SESSION_COOKIE), envId);
  if (fromCookie && !req.headers.authorization) return d.auth.userById(fromCookie);
  const bearer = bearerOf(req);
  return bearer ? d.auth.authenticate(bearer).catch(() => undefined) : undefined;
}

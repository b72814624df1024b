// Reverse proxy to an env's Jupyter through the tunnel: the gateway's auth in front, Jupyter's token injected,
// so the env's port is never exposed. HTTP here; kernel WebSockets in ../websocket.ts.
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RequestHandler } from 'express';
import type { User } from '../../../common/model';
import { JUPYTER_PORT, jupyterPath } from '../../contract';
import type { EnvironmentService } from '../../environments/service';
import { MethodNotAllowedError, UnauthorizedError } from '../../errors';
import type { AuthService } from '../../services/auth';
import { cookieValue, JupyterSessions, SESSION_COOKIE, SESSION_PARAM } from '../../services/jupyterSessions';
import { requireAuth, userOf } from '../auth';
import type { JupyterPool } from '../jupyterPool';

// Hop-by-hop and credential headers that must not reach Jupyter. Origin/Referer go too: the gateway's bearer
// auth is not cookie-based, so there is no CSRF to guard, and Jupyter would otherwise reject our Host.
const DROP = new Set([
  'authorization',
  'host',
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'origin',
  'referer',
  'cookie',
  'sec-websocket-protocol',
]);

export function upstreamHeaders(
  h: IncomingHttpHeaders,
  token: string,
  keepUpgrade = false,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined) continue;
    if (DROP.has(k) && !(keepUpgrade && (k === 'connection' || k === 'upgrade'))) continue;
    out[k] = v;
  }
  // Our own auth may ride in a `bearer.<token>` subprotocol; Jupyter's (e.g. v1.kernel.websocket.jupyter.org) pass on.
  const protocols = String(h['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p && !p.startsWith('bearer.'));
  if (protocols.length) out['sec-websocket-protocol'] = protocols.join(', ');
  out.host = `127.0.0.1:${JUPYTER_PORT}`;
  out.authorization = `token ${token}`;
  return out;
}

/** The methods Jupyter's HTTP API uses (daemon/http/openapi documents these); others are not proxied. */
export const JUPYTER_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

export const jupyterMethods: RequestHandler = (req, _res, next) => {
  if (!(JUPYTER_METHODS as readonly string[]).includes(req.method))
    throw new MethodNotAllowedError([...JUPYTER_METHODS], req.method);
  next();
};

export interface JupyterTarget {
  socket: Duplex;
  token: string;
  path: string;
}

/** Opens a connection to the env's Jupyter and maps the gateway path to Jupyter's (base_url uses the env id). */
export async function jupyterTarget(
  envs: EnvironmentService,
  user: User,
  idOrName: string,
  rest: string,
): Promise<JupyterTarget> {
  const { env, token } = await envs.jupyterAccess(user, idOrName);
  const socket = await envs.openTunnel(user, env.id, JUPYTER_PORT, { audit: false });
  return { socket, token, path: jupyterPath(env.id) + rest.replace(/^\/+/, '') };
}

/** Bearer token, or the env-scoped cookie a session link set; a session link itself becomes that cookie. */
export function jupyterAuth(auth: AuthService, sessions: JupyterSessions): RequestHandler {
  const bearer = requireAuth(auth);
  return async (req, res, next) => {
    const envId = String(req.params.id);
    const link = typeof req.query[SESSION_PARAM] === 'string' ? (req.query[SESSION_PARAM] as string) : undefined;
    if (link) {
      const userId = sessions.verify('link', link, envId);
      if (!userId) throw new UnauthorizedError('the Jupyter link expired or is not valid: open it again from Hangar');
      const cookie = sessions.issue('cookie', userId, envId, 12 * 3600_000);
      const secure = req.protocol === 'https' ? '; Secure' : '';
      res.setHeader(
        'set-cookie',
        `${SESSION_COOKIE}=${cookie}; Path=${jupyterPath(envId)}; HttpOnly; SameSite=Lax; Max-Age=43200${secure}`,
      );
      // Same place without the link in the address bar (or in Jupyter's logs).
      const url = new URL(req.originalUrl, 'http://x');
      url.searchParams.delete(SESSION_PARAM);
      res.redirect(302, url.pathname + url.search);
      return;
    }
    const fromCookie = sessions.verify('cookie', cookieValue(req.headers.cookie, SESSION_COOKIE), envId);
    if (fromCookie && !req.headers.authorization) {
      const user = await auth.userById(fromCookie);
      if (!user) throw new UnauthorizedError();
      res.locals.user = user;
      next();
      return;
    }
    await bearer(req, res, next);
  };
}

/** Jupyter forbids framing by other origins; VS Code shows it framed (webview, Simple Browser): allow those. */
export function frameableHeaders(h: http.IncomingHttpHeaders, ancestors: string[]): http.IncomingHttpHeaders {
  const out = { ...h };
  delete out['x-frame-options'];
  const csp = String(out['content-security-policy'] ?? '');
  const kept = csp
    .split(';')
    .map((d) => d.trim())
    .filter((d) => d && !/^frame-ancestors\b/i.test(d));
  out['content-security-policy'] = [...kept, `frame-ancestors ${ancestors.join(' ')}`].join('; ');
  return out;
}

/** One request to the env's Jupyter over a pooled, kept-alive connection through the tunnel (opened when none is
 *  free), and its answer back, framable by VS Code; `fail` gets an upstream error. */
export function forward(
  o: { pool: JupyterPool; frameAncestors: string[] },
  user: User,
  to: { envId: string; token: string; rest: string },
  req: IncomingMessage,
  res: ServerResponse,
  fail: (err: Error) => void,
): void {
  const up = http.request({
    agent: o.pool.agentFor(to.envId, user),
    method: req.method,
    path: jupyterPath(to.envId) + to.rest.replace(/^\/+/, ''),
    headers: upstreamHeaders(req.headers, to.token),
  });
  up.on('response', (r) => {
    res.writeHead(r.statusCode ?? 502, frameableHeaders(r.headers, o.frameAncestors));
    r.pipe(res);
  });
  up.on('error', fail);
  // Only a client gone mid-response ends the upstream request (a finished one leaves its socket to the pool).
  res.on('close', () => {
    if (!res.writableFinished) up.destroy();
  });
  // Most of Jupyter's requests have no body: end at once, the headers in one write, no stream piping.
  const bodyless = !req.headers['transfer-encoding'] && (req.headers['content-length'] ?? '0') === '0';
  if (bodyless) up.end();
  else req.pipe(up);
}

export function jupyterProxy(envs: EnvironmentService, frameAncestors: string[], pool: JupyterPool): RequestHandler {
  return async (req, res, next) => {
    const user = userOf(res);
    const { env, token } = await envs.jupyterAccess(user, String(req.params.id));
    forward({ pool, frameAncestors }, user, { envId: env.id, token, rest: req.url }, req, res, next);
  };
}

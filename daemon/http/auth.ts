import type { IncomingMessage } from 'node:http';
import type { RequestHandler, Response } from 'express';
import type { User } from '../../common/model';
import { ForbiddenError } from '../errors';
import type { AuthService } from '../services/auth';

/** Bearer token from the Authorization header, or (for browser WebSockets, which can't set headers)
 *  the `bearer.<token>` WebSocket subprotocol. Never from the query string: URLs end up in logs. */
export function bearerOf(req: IncomingMessage): string | undefined {
  if (req.headers.authorization) return req.headers.authorization;
  const proto = req.headers['sec-websocket-protocol'];
  const m = proto
    ?.split(',')
    .map((s) => s.trim())
    .find((p) => p.startsWith('bearer.'));
  return m ? `Bearer ${m.slice('bearer.'.length)}` : undefined;
}

export function requireAuth(auth: AuthService): RequestHandler {
  return async (req, res, next) => {
    res.locals.user = await auth.authenticate(bearerOf(req));
    next();
  };
}

export const userOf = (res: Response): User => res.locals.user as User;

export function requireAdmin(res: Response): User {
  const u = userOf(res);
  if (u.role !== 'admin') throw new ForbiddenError('admin only');
  return u;
}

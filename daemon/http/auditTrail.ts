import type { RequestHandler } from 'express';
import type { User } from '../../common/model';
import type { AuditService } from '../services/audit';

const header = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v)?.slice(0, 200) ?? null;

/** Mounted on /api/v1 before authentication, so refused requests are in the trail too. The address is req.ip
 *  (X-Forwarded-For only through trusted proxies: `trust_proxy`); the client is X-Hangar-Client, else User-Agent. */
export function auditTrail(audit: AuditService): RequestHandler {
  return (req, res, next) => {
    const p = {
      method: req.method,
      path: req.path,
      client: header(req.headers['x-hangar-client']) ?? header(req.headers['user-agent']),
      address: req.ip ?? null,
    };
    res.on('finish', () => {
      audit.finish(p, {
        user: res.locals.user as User | undefined,
        status: res.statusCode,
        errorCode: res.locals.errorCode as string | undefined,
      });
    });
    audit.track(p, next);
  };
}

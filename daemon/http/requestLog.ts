import type { RequestHandler } from 'express';
import type { Logger } from '../log';

/** One line per request: method, path (never the query string: it may carry tokens), status, time, user. */
export function requestLog(log: Logger): RequestHandler {
  return (req, res, next) => {
    const t0 = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      const user = (res.locals.user as { name?: string } | undefined)?.name;
      log[res.statusCode >= 500 ? 'error' : 'debug'](
        { method: req.method, path: req.path, status: res.statusCode, ms: Math.round(ms * 10) / 10, user },
        'request',
      );
    });
    next();
  };
}

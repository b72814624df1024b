import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import type { Logger } from '../log';

/** One line when the answer is done: method, path (never the query string: it may carry tokens), status, time,
 *  user (asked then: auth runs after this is set up). */
export function logWhenDone(
  log: Logger,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  user: () => string | undefined,
): void {
  const t0 = process.hrtime.bigint();
  res.on('finish', () => {
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    log[res.statusCode >= 500 ? 'error' : 'debug'](
      { method: req.method, path, status: res.statusCode, ms: Math.round(ms * 10) / 10, user: user() },
      'request',
    );
  });
}

/** One line per request (see logWhenDone). */
export function requestLog(log: Logger): RequestHandler {
  return (req, res, next) => {
    logWhenDone(log, req, res, req.path, () => (res.locals.user as { name?: string } | undefined)?.name);
    next();
  };
}

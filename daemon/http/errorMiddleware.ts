import type { ErrorRequestHandler } from 'express';
import { DomainError, InputError, statusFor } from '../errors';
import type { Logger } from '../log';

/** The one place errors become HTTP answers: { error: { code, message, field? } }. */
export function errorMiddleware(log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    // express.json() parse errors
    if ((err as { type?: string }).type === 'entity.parse.failed') err = new InputError('(body)', 'request body is not valid JSON');
    const status = statusFor(err);
    if (status >= 500 && status !== 503) log.error({ err: String(err?.stack ?? err), method: req.method, url: req.path }, 'request failed');
    const body = err instanceof DomainError
      ? { code: err.code, message: err.message, ...(err.details ?? {}) }
      : { code: 'internal', message: 'internal error' };
    if (res.headersSent) { res.end(); return; }
    res.status(status).json({ error: body });
  };
}

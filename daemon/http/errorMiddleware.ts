import type { ErrorRequestHandler } from 'express';
import { DomainError, InputError, MethodNotAllowedError, statusFor } from '../errors';
import type { Logger } from '../log';

/** Errors Express and body-parser raise for a bad request (their `status` is 4xx), as domain errors. */
function fromFramework(err: unknown): unknown {
  const e = err as { type?: string; status?: number; message?: string } | undefined;
  if (e?.type === 'entity.parse.failed') return new InputError('(body)', 'request body is not valid JSON');
  if (e?.type === 'entity.too.large') return new InputError('(body)', 'request body is larger than 1 MB');
  if (err instanceof URIError) return new InputError('(path)', 'the path is not valid percent-encoding');
  if (!(err instanceof DomainError) && e?.type && e.status && e.status >= 400 && e.status < 500)
    return new InputError('(body)', `request body: ${e.message}`);
  return err;
}

/** The one place errors become HTTP answers: { error: { code, message, field? } }. */
export function errorMiddleware(log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    err = fromFramework(err);
    const status = statusFor(err);
    if (status >= 500 && status !== 503)
      log.error({ err: String(err?.stack ?? err), method: req.method, url: req.path }, 'request failed');
    const body =
      err instanceof DomainError
        ? { code: err.code, message: err.message, ...(err.details ?? {}) }
        : { code: 'internal', message: 'internal error' };
    res.locals.errorCode = body.code;
    if (res.headersSent) {
      res.end();
      return;
    }
    if (err instanceof MethodNotAllowedError) res.setHeader('allow', err.allow.join(', '));
    res.status(status).json({ error: body });
  };
}

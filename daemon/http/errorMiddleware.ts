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

/** An error as the API answers it: status and { code, message, field? }; a server fault is logged (5xx but 503). */
export function errorAnswer(
  log: Logger,
  error: unknown,
  where: { method?: string; path: string },
): { status: number; body: { code: string; message: string }; allow?: string } {
  const err = fromFramework(error) as { stack?: string } | undefined;
  const status = statusFor(err);
  if (status >= 500 && status !== 503)
    log.error({ err: String(err?.stack ?? err), method: where.method, url: where.path }, 'request failed');
  const body =
    err instanceof DomainError
      ? { code: err.code, message: err.message, ...(err.details ?? {}) }
      : { code: 'internal', message: 'internal error' };
  return { status, body, allow: err instanceof MethodNotAllowedError ? err.allow.join(', ') : undefined };
}

/** The one place errors become HTTP answers: { error: { code, message, field? } }. */
export function errorMiddleware(log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const { status, body, allow } = errorAnswer(log, err, { method: req.method, path: req.path });
    res.locals.errorCode = body.code;
    if (res.headersSent) {
      res.end();
      return;
    }
    if (allow) res.setHeader('allow', allow);
    res.status(status).json({ error: body });
  };
}

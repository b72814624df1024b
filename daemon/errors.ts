// Typed domain errors. Routes and services throw these; http/errorMiddleware.ts maps them to status codes.
export class DomainError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}
/** Bad input: 400, message names the field. */
export class InputError extends DomainError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message, 'invalid_input', { field });
  }
}
export class UnauthorizedError extends DomainError {
  constructor(message = 'missing or invalid bearer token') {
    super(message, 'unauthorized');
  }
}
export class ForbiddenError extends DomainError {
  /** `rule` names the policy that refused (e.g. host_paths), `field` the input it refused. */
  constructor(message = 'forbidden', details?: { rule: string; field?: string }) {
    super(message, 'forbidden', details);
  }
}
/** Unknown, or not the caller's: both answer 404 so ids don't leak. */
export class NotFoundError extends DomainError {
  constructor(what: string, id: string) {
    super(`${what} '${id}' not found`, 'not_found');
  }
}
export class ConflictError extends DomainError {
  constructor(message: string) {
    super(message, 'conflict');
  }
}
/** The request is well-formed but cannot be satisfied (e.g. an image that can't be had). */
export class UnprocessableError extends DomainError {
  constructor(message: string, code = 'unprocessable') {
    super(message, code);
  }
}
/** A Range that starts at or past the end of what is there: 416. */
export class RangeNotSatisfiableError extends DomainError {
  constructor(range: string) {
    super(`range ${range} starts past the end of the object`, 'range_not_satisfiable');
  }
}
/** A path the API has, asked with a method it doesn't: 405 with an Allow header. */
export class MethodNotAllowedError extends DomainError {
  constructor(
    readonly allow: string[],
    method: string,
  ) {
    super(`${method} is not allowed here (allowed: ${allow.join(', ')})`, 'method_not_allowed');
  }
}
/** A WebSocket endpoint asked without an upgrade. */
export class UpgradeRequiredError extends DomainError {
  constructor() {
    super('this endpoint is a WebSocket: send an Upgrade request', 'upgrade_required');
  }
}
/** An env that runs without a network address yet (a start cut short can leave dockerd's container so): the
 *  readiness loop restarts it once. Still a 422 to a client. */
export class NoNetworkAddressError extends UnprocessableError {}
/** A backend (Docker host, cluster, libvirt host) cannot be reached: 503 naming it. */
export class BackendUnavailableError extends DomainError {
  constructor(
    readonly backendId: string,
    cause: string,
  ) {
    super(`backend '${backendId}' is unavailable: ${cause}`, 'backend_unavailable', { backend: backendId });
  }
}

/** An object store (S3, MinIO…) that doesn't answer, or answers 5xx: 503 naming it (error.store). */
export class ObjectStoreUnavailableError extends DomainError {
  constructor(
    readonly store: string,
    cause: string,
  ) {
    super(`object store '${store}' is unavailable: ${cause}`, 'store_unavailable', { store });
  }
}

export function statusFor(err: unknown): number {
  if (err instanceof InputError) return 400;
  if (err instanceof UnauthorizedError) return 401;
  if (err instanceof ForbiddenError) return 403;
  if (err instanceof NotFoundError) return 404;
  if (err instanceof ConflictError) return 409;
  if (err instanceof MethodNotAllowedError) return 405;
  if (err instanceof UpgradeRequiredError) return 426;
  if (err instanceof UnprocessableError) return 422;
  if (err instanceof RangeNotSatisfiableError) return 416;
  if (err instanceof BackendUnavailableError) return 503;
  if (err instanceof ObjectStoreUnavailableError) return 503;
  return 500;
}

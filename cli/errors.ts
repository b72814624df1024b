// Exit codes scripts can rely on, and the usage error that maps to 2.
import { ApiError } from '../common/client';

export const EXIT = { ok: 0, error: 1, usage: 2, auth: 3, notFound: 4, conflict: 5, unavailable: 6 } as const;

/** Bad flags or arguments: exit 2 with the message, no API call made. */
export class UsageError extends Error {}

export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError) return EXIT.usage;
  if (!(err instanceof ApiError)) return EXIT.error;
  if (err.status === 400) return EXIT.usage;
  if (err.status === 401 || err.status === 403) return EXIT.auth;
  if (err.status === 404) return EXIT.notFound;
  if (err.status === 409) return EXIT.conflict;
  if (err.status === 503 || err.status === 0) return EXIT.unavailable;
  return EXIT.error;
}

// Backend calls and "can't reach it" classification: each kind says which of its errors mean unreachable
// (an Unreachable classifier); guard() turns those into BackendUnavailableError naming the backend.
import { BackendUnavailableError } from '../../errors';

/** The cause text when `err` means the backend can't be reached, else undefined. */
export type Unreachable = (err: unknown) => string | undefined;

/** Socket-level failures every client library reports by code. */
export const SOCKET_CODES = [
  'ECONNREFUSED',
  'ENOENT',
  'EACCES',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
] as const;

/** The error's (or its cause's) string code. */
export function errCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; cause?: { code?: unknown } };
  if (typeof e?.code === 'string') return e.code;
  if (typeof e?.cause?.code === 'string') return e.cause.code;
  return undefined;
}

/** A classifier from error codes (and optional extra checks, which return the cause's label). */
export function byCode(codes: Iterable<string>, extra?: (err: unknown) => string | undefined): Unreachable {
  const set = new Set(codes);
  return (err) => {
    const code = errCode(err);
    const label = code && set.has(code) ? code : extra?.(err);
    return label === undefined ? undefined : `${label}: ${(err as Error)?.message}`;
  };
}

/** Runs a backend call; a failure the classifier calls unreachable becomes BackendUnavailableError. */
export async function guard<T>(backendId: string, unreachable: Unreachable, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const cause = unreachable(err);
    if (cause !== undefined) throw new BackendUnavailableError(backendId, cause);
    throw err;
  }
}

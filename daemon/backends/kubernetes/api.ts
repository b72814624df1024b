// API-call helpers of the Kubernetes driver: which errors mean "unreachable", the API server's own message, refs.
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { BackendUnavailableError, UnprocessableError } from '../../errors';
import { byCode, errCode, SOCKET_CODES } from '../shared/call';
import { WORKLOAD_KINDS, type WorkloadKind } from './conventions';

export const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** Socket codes (client-node speaks fetch/undici), and fetch's system errors. */
export const k8sUnreachable = byCode(
  [...SOCKET_CODES, 'ENETUNREACH', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET'],
  (err) => {
    const e = err as { type?: string; name?: string; message?: string };
    const other =
      e?.type === 'system' ||
      e?.name === 'FetchError' ||
      /ECONNREFUSED|socket hang up|ETIMEDOUT|EHOSTUNREACH/.test(e?.message ?? '');
    return other ? (errCode(err) ?? 'unreachable') : undefined;
  },
);
export const isUnreachable = (err: unknown): boolean => k8sUnreachable(err) !== undefined;

/** HTTP status of an ApiException (client-node 1.x: `code` is the status). */
export function statusOf(err: unknown): number | undefined {
  const c = (err as { code?: unknown })?.code;
  return typeof c === 'number' ? c : undefined;
}

/** The API server's own message (Status.message) from an ApiException, else the error's message. */
export function apiMessage(err: unknown): string {
  const body = (err as { body?: unknown })?.body;
  if (typeof body === 'string') {
    try {
      const m = (JSON.parse(body) as { message?: string }).message;
      if (m) return m;
    } catch {
      if (body.trim()) return body.trim();
    }
  } else if (body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string') {
    return (body as { message: string }).message;
  }
  return (err as Error)?.message ?? String(err);
}

/** A `.catch` that lets errors with these HTTP statuses pass (e.g. 404 on delete, 409 on an idempotent create). */
export const unless =
  (...statuses: number[]) =>
  (err: unknown): undefined => {
    if (!statuses.includes(statusOf(err) ?? -1)) throw err;
    return undefined;
  };

/** A `.catch` that keeps BackendUnavailableError and turns anything else into a 422 saying what failed. */
export const failedAs =
  (what: string, code?: string) =>
  (err: unknown): never => {
    if (err instanceof BackendUnavailableError) throw err;
    throw new UnprocessableError(`${what}: ${apiMessage(err)}`, code);
  };

/** A ref is `<namespace>/<deployment|statefulset|job|cronjob>/<name>/<env id>`. */
export interface Ref {
  namespace: string;
  kind: WorkloadKind;
  name: string;
  envId: string;
}

export function parseRef(ref: string): Ref {
  const [namespace, kind, name, envId] = ref.split('/');
  if (!namespace || !WORKLOAD_KINDS.includes(kind as WorkloadKind) || !name || !envId)
    throw new UnprocessableError(`'${ref}' is not a Kubernetes environment reference`);
  return { namespace, kind: kind as WorkloadKind, name, envId };
}
export const formatRef = (r: Ref) => `${r.namespace}/${r.kind}/${r.name}/${r.envId}`;

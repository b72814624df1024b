// API-call helpers of the Kubernetes driver: which errors mean "unreachable", the API server's own message, refs.
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { UnprocessableError } from '../../errors';
import { WORKLOAD_KINDS, type WorkloadKind } from './manifests';

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOENT', 'EACCES', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'ENETUNREACH', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET']);
export const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export function errCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; cause?: { code?: unknown }; errno?: unknown };
  if (typeof e?.code === 'string') return e.code;
  if (typeof e?.cause?.code === 'string') return e.cause.code;
  return undefined;
}

export function isUnreachable(err: unknown): boolean {
  const code = errCode(err);
  if (code && UNREACHABLE.has(code)) return true;
  const e = err as { type?: string; name?: string; message?: string };
  return e?.type === 'system' || e?.name === 'FetchError' || /ECONNREFUSED|socket hang up|ETIMEDOUT|EHOSTUNREACH/.test(e?.message ?? '');
}

/** HTTP status of an ApiException (client-node 1.x: `code` is the status). */
export function statusOf(err: unknown): number | undefined {
  const c = (err as { code?: unknown })?.code;
  return typeof c === 'number' ? c : undefined;
}

/** The API server's own message (Status.message) from an ApiException, else the error's message. */
export function apiMessage(err: unknown): string {
  const body = (err as { body?: unknown })?.body;
  if (typeof body === 'string') {
    try { const m = (JSON.parse(body) as { message?: string }).message; if (m) return m; } catch { if (body.trim()) return body.trim(); }
  } else if (body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string') {
    return (body as { message: string }).message;
  }
  return (err as Error)?.message ?? String(err);
}

/** A ref is `<namespace>/<deployment|statefulset|job|cronjob>/<name>/<env id>`. */
export interface Ref { namespace: string; kind: WorkloadKind; name: string; envId: string }

export function parseRef(ref: string): Ref {
  const [namespace, kind, name, envId] = ref.split('/');
  if (!namespace || !WORKLOAD_KINDS.includes(kind as WorkloadKind) || !name || !envId) throw new UnprocessableError(`'${ref}' is not a Kubernetes environment reference`);
  return { namespace, kind: kind as WorkloadKind, name, envId };
}
export const formatRef = (r: Ref) => `${r.namespace}/${r.kind}/${r.name}/${r.envId}`;

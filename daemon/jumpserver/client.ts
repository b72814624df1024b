// A client of JumpServer's REST API (v3/v4): access-key HTTP Signatures (draft-cavage, hmac-sha256 over
// "(request-target) accept date") or a private token, the organisation in X-JMS-ORG, {count,next,previous,results}
// pages. Secrets live in this object only: never in errors or logs.
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { JumpServerConfig } from '../config';

export type JmsAuth = { kind: 'signature'; keyId: string; secret: string } | { kind: 'token'; token: string };

/** JumpServer could not be asked, or answered 5xx: a 503 naming it (callers decide by `required`). */
export class JumpServerDown extends Error {
  constructor(cause: string) {
    super(`JumpServer is unavailable: ${cause}`);
  }
}
/** JumpServer answered 4xx: the request is wrong (or the object is gone: status 404). */
export class JumpServerRefused extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    what: string,
  ) {
    super(`JumpServer refused ${what}: HTTP ${status} ${body.slice(0, 300)}`);
  }
}

export function authFromConfig(c: JumpServerConfig['auth']): JmsAuth {
  const read = (f: string) => fs.readFileSync(f, 'utf8').trim();
  return 'private_token_file' in c
    ? { kind: 'token', token: read(c.private_token_file) }
    : { kind: 'signature', keyId: c.access_key_id, secret: read(c.access_key_secret_file) };
}

/** The Authorization header of one request. */
export function authorization(auth: JmsAuth, method: string, pathWithQuery: string, accept: string, date: string) {
  if (auth.kind === 'token') return `Token ${auth.token}`;
  const signing = `(request-target): ${method.toLowerCase()} ${pathWithQuery}\naccept: ${accept}\ndate: ${date}`;
  const sig = crypto.createHmac('sha256', auth.secret).update(signing).digest('base64');
  return `Signature keyId="${auth.keyId}",algorithm="hmac-sha256",headers="(request-target) accept date",signature="${sig}"`;
}

export interface Page<T> {
  count: number;
  next: string | null;
  previous: string | null;
  results: T[];
}

export class JumpServerClient {
  readonly base: string;
  constructor(
    private readonly o: { url: string; org: string; auth: JmsAuth; timeoutMs: number; fetch?: typeof fetch },
  ) {
    this.base = o.url.replace(/\/+$/, '');
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const text = await this.text(method, path, body, 'application/json');
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** The body as text (e.g. an .rdp file), after the same auth, org and error handling. */
  async text(method: string, path: string, body?: unknown, accept = '*/*'): Promise<string> {
    const full = `/api/v1${path}`;
    const date = new Date().toUTCString();
    const headers: Record<string, string> = {
      accept,
      date,
      'x-jms-org': this.o.org,
      authorization: authorization(this.o.auth, method, full, accept, date),
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await (this.o.fetch ?? fetch)(this.base + full, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.o.timeoutMs),
      });
    } catch (err) {
      throw new JumpServerDown(`${this.base}: ${String((err as Error).cause ?? (err as Error).message)}`);
    }
    const text = await res.text();
    if (res.status >= 500) throw new JumpServerDown(`${this.base} answered HTTP ${res.status}`);
    if (res.status >= 400) throw new JumpServerRefused(res.status, text, `${method} ${path}`);
    return text;
  }

  /** Every item of a list, page by page (limit/offset). */
  async all<T>(path: string, query: Record<string, string> = {}): Promise<T[]> {
    const out: T[] = [];
    for (let offset = 0; ;) {
      const q = new URLSearchParams({ ...query, limit: '100', offset: String(offset) });
      const p = await this.request<Page<T>>('GET', `${path}?${q}`);
      out.push(...p.results);
      offset += p.results.length;
      if (!p.next || p.results.length === 0) return out;
    }
  }

  /** DELETE that treats "already gone" as done. */
  async remove(path: string): Promise<void> {
    try {
      await this.request('DELETE', path);
    } catch (err) {
      if (!(err instanceof JumpServerRefused && err.status === 404)) throw err;
    }
  }
}

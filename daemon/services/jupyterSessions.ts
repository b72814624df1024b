// Browser access to an env's Jupyter without a bearer header: a one-minute link (from an authenticated API call)
// becomes a cookie scoped to that env's Jupyter path, so Jupyter's own absolute links keep working and the page
// is served from the gateway's origin (webviews, the Simple Browser, code-server, a real browser).
import crypto from 'node:crypto';

export const SESSION_PARAM = 'hangar_session';
export const SESSION_COOKIE = 'hangar_jupyter';

export class JupyterSessions {
  private readonly key: Buffer;
  /** `key`: the HMAC key (derived from the data dir's secret). */
  constructor(o: { key: Buffer }) {
    this.key = o.key;
  }

  private sign(body: string): string {
    return crypto.createHmac('sha256', this.key).update(body).digest('base64url');
  }

  issue(kind: 'link' | 'cookie', userId: string, envId: string, ttlMs: number): string {
    const body = Buffer.from(JSON.stringify({ k: kind, u: userId, e: envId, x: Date.now() + ttlMs })).toString(
      'base64url',
    );
    return `${body}.${this.sign(body)}`;
  }

  /** The user id when the token is ours, of this kind, for this env and not expired. */
  verify(kind: 'link' | 'cookie', token: string | undefined, envId: string): string | undefined {
    if (!token) return undefined;
    const [body, mac] = token.split('.');
    if (!body || !mac) return undefined;
    const want = Buffer.from(this.sign(body));
    const got = Buffer.from(mac);
    if (want.length !== got.length || !crypto.timingSafeEqual(want, got)) return undefined;
    try {
      const p = JSON.parse(Buffer.from(body, 'base64url').toString()) as { k: string; u: string; e: string; x: number };
      return p.k === kind && p.e === envId && p.x > Date.now() ? p.u : undefined;
    } catch {
      return undefined;
    }
  }
}

export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

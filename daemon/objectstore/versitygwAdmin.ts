// versitygw's admin API (its own port, PATCH requests signed with SigV4 by an admin account — the store's root
// credentials here): accounts for scoped credentials. Only what Hangar uses: create-user with role "user",
// delete-user, list-users. Bodies are XML (versitygw's auth.Account marshalled by encoding/xml). A secret is sent in
// a request body only, never in a URL, a log line or an error message.
import crypto from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { XMLParser } from 'fast-xml-parser';
import type { ObjectStoreCredentials } from './config';

/** SHA-256 as @smithy/signature-v4 wants it (a Checksum), from node:crypto. */
class Sha256 {
  private readonly h: crypto.Hash | crypto.Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.h = secret ? crypto.createHmac('sha256', bytes(secret)) : crypto.createHash('sha256');
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.h.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
  reset(): void {}
}

const bytes = (d: string | ArrayBuffer | ArrayBufferView): string | Uint8Array =>
  typeof d === 'string'
    ? d
    : ArrayBuffer.isView(d)
      ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength)
      : new Uint8Array(d);

const xmlEscape = (s: string) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

export class VersitygwAdmin {
  private readonly signer: SignatureV4;
  private readonly url: URL;

  constructor(
    endpoint: string,
    region: string,
    credentials: ObjectStoreCredentials,
    private readonly timeoutMs = 30_000,
  ) {
    this.url = new URL(endpoint);
    this.signer = new SignatureV4({ service: 's3', region, credentials, sha256: Sha256 });
  }

  /** A store account of role "user": it reaches only what bucket policies name it in. */
  async createUser(access: string, secret: string): Promise<void> {
    const body = `<Account><Access>${xmlEscape(access)}</Access><Secret>${xmlEscape(secret)}</Secret><Role>user</Role></Account>`;
    await this.call('/create-user', {}, body);
  }

  /** Idempotent: an account that isn't there is fine. */
  async deleteUser(access: string): Promise<void> {
    try {
      await this.call('/delete-user', { access }, '');
    } catch (e) {
      if (!/not ?found|does not exist/i.test((e as Error).message)) throw e;
    }
  }

  async listUsers(): Promise<string[]> {
    const text = await this.call('/list-users', {}, '');
    const parsed = new XMLParser({ isArray: (name) => name === 'Accounts' }).parse(text) as {
      ListUserAccountsResult?: { Accounts?: { Access?: string }[] };
    };
    return (parsed.ListUserAccountsResult?.Accounts ?? []).map((a) => String(a.Access ?? '')).filter(Boolean);
  }

  private async call(path: string, query: Record<string, string>, body: string): Promise<string> {
    const hash = crypto.createHash('sha256').update(body).digest('hex');
    const signed = await this.signer.sign({
      method: 'PATCH',
      protocol: this.url.protocol,
      hostname: this.url.hostname,
      port: this.url.port ? Number(this.url.port) : undefined,
      path,
      query,
      headers: { host: this.url.host, 'x-amz-content-sha256': hash },
      body,
    });
    const url = new URL(path, this.url);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    const res = await fetch(url, {
      method: 'PATCH',
      headers: signed.headers as Record<string, string>,
      body: body || undefined,
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`versitygw admin ${path}: ${res.status} ${errorOf(text)}`);
    return text;
  }
}

/** The <Code>/<Message> of an S3-style error body (never the request, which may hold a secret). */
function errorOf(text: string): string {
  const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1];
  const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1];
  return [code, message].filter(Boolean).join(': ') || text.slice(0, 200);
}

// TEST DOUBLE of JumpServer's REST API (v3 shapes, from ../../../shared/reference/jumpserver.md), not JumpServer.
// A real HTTP server on 127.0.0.1: verifies access-key HTTP Signatures (hmac-sha256), private Tokens and Bearer tokens
// (POST /authentication/auth/), selects the organisation by ?oid= then X-JMS-ORG (lists of another org come back
// empty), pages lists with limit/offset as {count,next,previous,results}, and answers 4xx as JumpServer does
// ({"detail": …} for 401/403/404, {"field": ["…"]} for 400). Connection tokens as v3 makes them: the plain endpoint
// for the caller (a `user` in the body is ignored, read-only there), super-connection-token for the `user` given (only
// for a superuser caller); both check the asset, the account, the protocol and the user's asset permission, and
// serve `{id}/rdp-file/` (full address = the RDP gateway, username `<user>|<token id>`).
// Run it alone: `tsx test/doubles/jumpserver-api.ts`.
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export const DEFAULT_ORG = '00000000-0000-0000-0000-000000000002';
type Obj = Record<string, any> & { id: string; org_id: string };
const COLLECTIONS = {
  '/assets/hosts/': 'hosts',
  '/accounts/accounts/': 'accounts',
  '/perms/asset-permissions/': 'perms',
  '/users/users/': 'users',
  '/terminal/sessions/': 'sessions',
  '/terminal/commands/': 'commands',
  '/authentication/connection-token/': 'tokens',
  '/authentication/super-connection-token/': 'tokens',
} as const;
type Coll = (typeof COLLECTIONS)[keyof typeof COLLECTIONS];
const REQUIRED: Partial<Record<Coll, string[]>> = {
  hosts: ['name', 'address', 'platform', 'protocols'],
  accounts: ['asset', 'username', 'secret_type'],
  perms: ['name'],
  tokens: ['asset', 'account'],
};

export class JumpServerApiDouble {
  readonly db: Record<Coll, Map<string, Obj>> = {
    hosts: new Map(),
    accounts: new Map(),
    perms: new Map(),
    users: new Map(),
    sessions: new Map(),
    commands: new Map(),
    tokens: new Map(),
  };
  /** access key id -> secret; private tokens; bearer tokens handed out. */
  readonly accessKeys = new Map<string, string>();
  readonly privateTokens = new Map<string, string>();
  private readonly bearers = new Map<string, string>();
  /** Requests seen: method, path, auth scheme (for tests that check what was sent). */
  readonly seen: { method: string; path: string; scheme: string; org: string }[] = [];
  down = false;
  /** Where the .rdp files send clients: JumpServer's RDP gateway (Razor), as its endpoint settings say. */
  rdpEndpoint = { host: '127.0.0.1', port: 3389 };
  /** Fault injection: the next POST to this collection is refused with this 400 body. */
  readonly refuseNext = new Map<Coll, Record<string, string[]>>();
  private server?: http.Server;
  url = '';

  constructor() {
    this.addUser('admin', 'Administrator').is_superuser = true;
  }

  addUser(username: string, name = username, password = 'pw'): Obj {
    const u = { id: crypto.randomUUID(), org_id: DEFAULT_ORG, username, name, password, is_active: true };
    this.db.users.set(u.id, u);
    return u;
  }
  objects(c: Coll, org = DEFAULT_ORG): Obj[] {
    return [...this.db[c].values()].filter((o) => o.org_id === org);
  }
  /** What KoKo's double records: a session and its commands. */
  recordSession(s: Record<string, any>, commands: string[] = []): Obj {
    const o: Obj = { id: crypto.randomUUID(), org_id: DEFAULT_ORG, is_finished: false, has_replay: true, ...s };
    o.has_command = commands.length > 0;
    this.db.sessions.set(o.id, o);
    for (const input of commands) this.recordCommand(o, input);
    return o;
  }
  recordCommand(session: Obj, input: string, output = ''): void {
    const c = { id: crypto.randomUUID(), org_id: session.org_id, session: session.id, input, output };
    Object.assign(c, { user: session.user, asset: session.asset, account: session.account, risk_level: 0 });
    this.db.commands.set(c.id, { ...c, timestamp: Math.floor(Date.now() / 1000) });
    session.has_command = true;
  }

  async start(port = 0): Promise<string> {
    this.server = http.createServer((req, res) => {
      if (this.down) {
        req.socket.destroy();
        return;
      }
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => this.handle(req, res, body));
    });
    await new Promise<void>((r) => this.server!.listen(port, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }
  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** The user a request authenticates as, or the reason it doesn't. */
  private authenticate(req: http.IncomingMessage, target: string): { user?: Obj; scheme: string; err?: string } {
    const h = req.headers.authorization ?? '';
    const byName = (n?: string) => [...this.db.users.values()].find((u) => u.username === n);
    if (h.startsWith('Bearer ')) return { user: byName(this.bearers.get(h.slice(7))), scheme: 'bearer' };
    if (h.startsWith('Token ')) return { user: byName(this.privateTokens.get(h.slice(6))), scheme: 'token' };
    if (!h.startsWith('Signature ')) return { scheme: 'none', err: 'Authentication credentials were not provided.' };
    const p = Object.fromEntries([...h.slice(10).matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    const secret = this.accessKeys.get(p.keyId);
    const names = (p.headers ?? 'date').split(' ');
    if (!secret || p.algorithm !== 'hmac-sha256' || !names.includes('(request-target)') || !names.includes('date'))
      return { scheme: 'signature', err: 'Invalid signature.' };
    const date = Date.parse(String(req.headers.date));
    if (!(Math.abs(Date.now() - date) < 15 * 60_000)) return { scheme: 'signature', err: 'Date out of range.' };
    const line = (n: string) =>
      n === '(request-target)' ? `(request-target): ${req.method!.toLowerCase()} ${target}` : `${n}: ${req.headers[n]}`;
    const want = crypto.createHmac('sha256', secret).update(names.map(line).join('\n')).digest('base64');
    const ok =
      want.length === p.signature?.length && crypto.timingSafeEqual(Buffer.from(want), Buffer.from(p.signature));
    return ok ? { user: byName('admin'), scheme: 'signature' } : { scheme: 'signature', err: 'Invalid signature.' };
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse, raw: string): void {
    const send = (status: number, v?: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(v === undefined ? '' : JSON.stringify(v));
    };
    const u = new URL(req.url!, 'http://x');
    if (!u.pathname.startsWith('/api/v1/')) return send(404, { detail: 'Not found.' });
    const path = u.pathname.slice('/api/v1'.length);
    let body: Record<string, any> = {};
    try {
      body = raw ? JSON.parse(raw) : {};
    } catch {
      return send(400, { detail: 'JSON parse error' });
    }
    if (req.method === 'POST' && path === '/authentication/auth/') {
      const user = [...this.db.users.values()].find(
        (x) => x.username === body.username && x.password === body.password,
      );
      if (!user)
        return send(400, { error: 'password_failed', msg: 'The username or password you entered is incorrect' });
      const token = crypto.randomBytes(16).toString('hex');
      this.bearers.set(token, user.username);
      return send(201, { token, keyword: 'Bearer', date_expired: new Date(Date.now() + 86_400_000).toISOString() });
    }
    const who = this.authenticate(req, req.url!);
    const org = u.searchParams.get('oid') ?? String(req.headers['x-jms-org'] ?? DEFAULT_ORG);
    this.seen.push({ method: req.method!, path, scheme: who.scheme, org });
    if (!who.user) return send(401, { detail: who.err ?? 'Invalid token.' });
    if (path === '/users/profile/')
      return send(200, { id: who.user.id, username: who.user.username, name: who.user.name });
    const file = /^\/authentication\/(?:super-)?connection-token\/([0-9a-f-]{36})\/rdp-file\/$/.exec(path);
    if (file && (req.method === 'GET' || req.method === 'POST')) return this.rdpFile(file[1], res);
    if (req.method === 'POST' && /^\/authentication\/(super-)?connection-token\/$/.test(path)) {
      const err = this.checkToken(body, who.user, path.includes('super-'), org);
      if (err) return send(err[0], err[1]);
    }
    this.route(req.method!, path, u.searchParams, body, org, send);
  }

  private route(
    method: string,
    path: string,
    q: URLSearchParams,
    body: Record<string, any>,
    org: string,
    send: (s: number, v?: unknown) => void,
  ): void {
    const m = /^(\/[a-z-]+\/[a-z-]+\/)(?:([0-9a-f-]{36})\/)?$/.exec(path);
    const coll = m && (COLLECTIONS as Record<string, Coll>)[m[1]];
    if (!m || !coll) return send(404, { detail: 'Not found.' });
    const id = m[2];
    const obj = id ? this.db[coll].get(id) : undefined;
    if (id && (!obj || obj.org_id !== org)) return send(404, { detail: 'Not found.' });
    if (method === 'GET' && obj) return send(200, obj);
    if (method === 'GET') return send(200, this.page(coll, org, q));
    if (method === 'DELETE' && obj) {
      this.db[coll].delete(obj.id);
      return send(204);
    }
    if ((method === 'PATCH' || method === 'PUT') && obj) return send(200, Object.assign(obj, body, { id: obj.id }));
    if (method === 'POST' && !id) return this.create(coll, body, org, send);
    send(405, { detail: `Method "${method}" not allowed.` });
  }

  /** JumpServer's checks before a token is made; the token's user is set here (the caller's, or `user` for super). */
  private checkToken(
    body: Record<string, any>,
    caller: Obj,
    superToken: boolean,
    org: string,
  ): [number, object] | void {
    if (superToken && !caller.is_superuser)
      return [403, { detail: 'You do not have permission to perform this action.' }];
    const user = superToken ? this.db.users.get(body.user) : caller;
    if (!user) return [400, { user: [`Invalid pk "${body.user}" - object does not exist.`] }];
    body.user = user.id;
    const host = this.db.hosts.get(body.asset);
    if (!host || host.org_id !== org) return [400, { asset: [`Invalid pk "${body.asset}" - object does not exist.`] }];
    const account = this.objects('accounts', org).find((a) => a.asset === host.id && a.name === body.account);
    const protocol = body.protocol ?? 'ssh';
    const served = (host.protocols ?? []).some((p: { name: string }) => p.name === protocol);
    const permitted = this.objects('perms', org).some(
      (p) =>
        p.is_active !== false &&
        p.users?.includes(user.id) &&
        p.assets?.includes(host.id) &&
        (p.protocols ?? ['all']).some((x: string) => x === 'all' || x === protocol) &&
        (p.accounts ?? []).some((x: string) => x === '@ALL' || x === account?.name || x === account?.username),
    );
    if (!account || !served || !permitted) return [400, { code: 'perm_account_invalid', detail: 'Account not found' }];
  }

  private rdpFile(id: string, res: http.ServerResponse): void {
    const t = this.db.tokens.get(id);
    const user = t && this.db.users.get(t.user);
    const host = t && this.db.hosts.get(t.asset);
    if (!t || !user || !host) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ detail: 'Not found.' }));
      return;
    }
    const lines = [
      `full address:s:${this.rdpEndpoint.host}:${this.rdpEndpoint.port}`,
      `username:s:${user.username}|${t.id}`,
      'use multimon:i:0',
      'authentication level:i:2',
      'prompt for credentials on client:i:0',
      'screen mode id:i:1',
      'session bpp:i:32',
    ];
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-disposition': `attachment; filename*=UTF-8''${encodeURIComponent(`${user.username}-${host.name}-jumpserver`)}.rdp`,
    });
    res.end(lines.map((l) => `${l}\n`).join(''));
  }

  private create(coll: Coll, body: Record<string, any>, org: string, send: (s: number, v?: unknown) => void): void {
    const refusal = this.refuseNext.get(coll);
    if (refusal) {
      this.refuseNext.delete(coll);
      return send(400, refusal);
    }
    const missing = (REQUIRED[coll] ?? []).filter((f) => body[f] === undefined || body[f] === '');
    if (missing.length) return send(400, Object.fromEntries(missing.map((f) => [f, ['This field is required.']])));
    if (coll === 'hosts' && this.objects('hosts', org).some((h) => h.name === body.name))
      return send(400, { name: ['asset with this name already exists.'] });
    if (coll === 'accounts' && !this.db.hosts.has(body.asset)) return send(400, { asset: ['Invalid pk.'] });
    const o: Obj = { is_active: true, ...body, id: crypto.randomUUID(), org_id: org };
    if (coll === 'tokens') Object.assign(o, { value: crypto.randomBytes(12).toString('hex'), expire_time: 300 });
    this.db[coll].set(o.id, o);
    send(201, o);
  }

  private page(coll: Coll, org: string, q: URLSearchParams) {
    const filters = [...q.entries()].filter(([k]) => !['limit', 'offset', 'oid', 'search'].includes(k));
    const all = this.objects(coll, org).filter((o) =>
      filters.every(([k, v]) => String(o[k === 'session_id' ? 'session' : k]) === v),
    );
    const limit = Number(q.get('limit') ?? all.length) || all.length || 1;
    const offset = Number(q.get('offset') ?? 0);
    const link = (off: number) => `${this.url}/api/v1/${coll}?limit=${limit}&offset=${off}`;
    return {
      count: all.length,
      next: offset + limit < all.length ? link(offset + limit) : null,
      previous: offset > 0 ? link(Math.max(0, offset - limit)) : null,
      results: all.slice(offset, offset + limit).map(({ secret: _s, password: _p, ...rest }) => rest),
    };
  }
}

if (require.main === module) {
  const d = new JumpServerApiDouble();
  d.privateTokens.set(process.env.JMS_TOKEN ?? 'private-token', 'admin');
  void d.start(Number(process.env.PORT ?? 0)).then((u) => console.log(`jumpserver api double at ${u}`));
}

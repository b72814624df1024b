// A loopback HTTP/WebSocket forwarder that puts the gateway token on requests to an env's Jupyter, so a webview,
// the Simple Browser or an external browser (which can't send our bearer header) can open it.
// A random secret guards it against other local users: the first URL carries it, it becomes a cookie.
import crypto from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';

export interface ForwardTarget { gatewayUrl: string; token: string }

const COOKIE = 'hangar_fwd';

export class JupyterForwarder {
  private server?: http.Server;
  private port = 0;
  private readonly secret = crypto.randomBytes(24).toString('base64url');
  /** gateway URL by env path prefix (/api/v1/environments/<id>/jupyter/). */
  private readonly routes = new Map<string, ForwardTarget>();

  /** The local URL that opens an env's Jupyter (with the one-time secret in it). */
  async urlFor(envId: string, target: ForwardTarget): Promise<string> {
    const prefix = `/api/v1/environments/${envId}/jupyter/`;
    this.routes.set(prefix, target);
    await this.listen();
    return `http://127.0.0.1:${this.port}/_hangar/${this.secret}${prefix}`;
  }

  private listen(): Promise<void> {
    if (this.server) return Promise.resolve();
    const server = http.createServer((req, res) => this.onRequest(req, res));
    server.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
    this.server = server;
    return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
      this.port = (server.address() as AddressInfo).port;
      resolve();
    }));
  }

  private authorized(req: http.IncomingMessage): boolean {
    const cookies = Object.fromEntries((req.headers.cookie ?? '').split(';').map((c) => c.trim().split('=')).filter((p) => p.length === 2));
    const given = Buffer.from(String(cookies[COOKIE] ?? ''));
    const want = Buffer.from(this.secret);
    return given.length === want.length && crypto.timingSafeEqual(given, want);
  }

  private route(url: string): [string, ForwardTarget] | undefined {
    for (const [prefix, t] of this.routes) if (url.startsWith(prefix)) return [prefix, t];
    return undefined;
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const entry = `/_hangar/${this.secret}`;
    if (req.url?.startsWith(entry)) {
      // Trade the secret in the URL for a cookie, then drop it from the address bar.
      res.writeHead(302, { 'set-cookie': `${COOKIE}=${this.secret}; HttpOnly; SameSite=Strict; Path=/`, location: req.url.slice(entry.length) || '/' });
      res.end();
      return;
    }
    const r = req.url ? this.route(req.url) : undefined;
    if (!this.authorized(req) || !r) { res.writeHead(403).end('forbidden'); return; }
    const target = new URL(req.url!, r[1].gatewayUrl);
    const headers = { ...req.headers, host: target.host, authorization: `Bearer ${r[1].token}` };
    delete headers.cookie;
    const up = (target.protocol === 'https:' ? https : http).request(target, { method: req.method, headers }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.pipe(res);
    });
    up.on('error', (e) => { if (!res.headersSent) res.writeHead(502); res.end(String(e.message)); });
    req.pipe(up);
  }

  private onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const r = req.url ? this.route(req.url) : undefined;
    if (!this.authorized(req) || !r) { socket.end('HTTP/1.1 403 Forbidden\r\n\r\n'); return; }
    const target = new URL(req.url!, r[1].gatewayUrl);
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && k !== 'cookie' && k !== 'host') headers[k] = v;
    headers.host = target.host;
    headers.authorization = `Bearer ${r[1].token}`;
    const up = (target.protocol === 'https:' ? https : http).request(target, { headers });
    up.on('upgrade', (ures, usock, uhead) => {
      const lines = [`HTTP/1.1 101 Switching Protocols`, ...Object.entries(ures.headers).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => `${k}: ${x}`))];
      socket.write(lines.join('\r\n') + '\r\n\r\n');
      if (uhead.length) socket.write(uhead);
      if (head.length) usock.write(head);
      usock.pipe(socket).pipe(usock);
      const close = () => { socket.destroy(); usock.destroy(); };
      socket.on('error', close); usock.on('error', close); socket.on('close', close); usock.on('close', close);
    });
    up.on('response', (ures) => { socket.end(`HTTP/1.1 ${ures.statusCode} Error\r\n\r\n`); });
    up.on('error', () => socket.destroy());
    up.end();
  }

  dispose(): void { this.server?.close(); this.server?.closeAllConnections(); }
}

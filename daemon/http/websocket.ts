// WebSocket endpoints: the event stream and the TCP tunnel (binary frames carry raw bytes both ways).
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import proxyaddr from 'proxy-addr';
import { WebSocketServer, createWebSocketStream, type WebSocket } from 'ws';
import type { EnvEvent } from '../../common/model';
import { DomainError, NotFoundError, statusFor } from '../errors';
import type { Logger } from '../log';
import type { AuthService } from '../services/auth';
import type { AuditService } from '../services/audit';
import type { EnvironmentService } from '../environments/service';
import type { EventBus } from '../services/events';
import { cookieValue, type JupyterSessions, SESSION_COOKIE } from '../services/jupyterSessions';
import { tunnelQuery } from '../../common/schemas';
import { bearerOf } from './auth';
import { parse } from './validate';
import { jupyterTarget, upstreamHeaders } from './routes/jupyter';

/** `Upgrade:` token of the raw tunnel (WebSocket stays available for browsers and WebSocket-only proxies). */
export const RAW_TCP = 'hangar-tcp';
const TUNNEL = /^\/api\/v1\/environments\/([^/]+)\/tunnel$/;
const JUPYTER = /^\/api\/v1\/environments\/([^/]+)\/jupyter(\/.*)?$/;

export interface WsDeps {
  auth: AuthService;
  sessions: JupyterSessions;
  envs: EnvironmentService;
  events: EventBus;
  log: Logger;
  /** Tunnel openings (and refusals) go into the audit trail with client and address. */
  audit?: AuditService;
  /** express's compiled `trust proxy` (app.get('trust proxy fn')): the address is the one req.ip gives on HTTP
   *  routes, X-Forwarded-For only through trusted proxies. Absent: the peer address. */
  trustProxy?: (addr: string, i: number) => boolean;
}

function reject(socket: Duplex, err: unknown): void {
  const status = statusFor(err);
  const body = JSON.stringify({
    error: {
      code: err instanceof DomainError ? err.code : 'internal',
      message: err instanceof DomainError ? err.message : 'internal error',
    },
  });
  socket.end(
    `HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

export function attachWebSockets(server: Server, d: WsDeps): WebSocketServer {
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false, // SSH is encrypted: compression costs CPU and gains nothing
    handleProtocols: (protocols) => [...protocols].find((p) => !p.startsWith('bearer.')) ?? false,
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      // Kernel sockets of a Jupyter page opened with a session link carry its env-scoped cookie instead of a bearer.
      const j0 = JUPYTER.exec(url.pathname);
      const cookieUser =
        j0 && !bearerOf(req)
          ? d.sessions.verify('cookie', cookieValue(req.headers.cookie, SESSION_COOKIE), decodeURIComponent(j0[1]))
          : undefined;
      const user = cookieUser
        ? ((await d.auth.userById(cookieUser)) ?? (await d.auth.authenticate(undefined)))
        : await d.auth.authenticate(bearerOf(req));
      if (url.pathname === '/api/v1/events') {
        wss.handleUpgrade(req, socket, head, (ws) =>
          streamEvents(ws, user.role === 'admin' ? undefined : user.id, d.events),
        );
        return;
      }
      const j = JUPYTER.exec(url.pathname);
      if (j) {
        // Kernel channels: replay the upgrade request to Jupyter and splice the two sockets.
        const t = await jupyterTarget(d.envs, user, decodeURIComponent(j[1]), (j[2] ?? '/') + url.search);
        const headers = upstreamHeaders(req.headers, t.token, true);
        const lines = [
          `GET ${t.path} HTTP/1.1`,
          ...Object.entries(headers).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => `${k}: ${x}`)),
        ];
        t.socket.write(lines.join('\r\n') + '\r\n\r\n');
        splice(socket, t.socket, head);
        return;
      }
      const m = TUNNEL.exec(url.pathname);
      if (!m) throw new NotFoundError('endpoint', url.pathname);
      const port = parse(tunnelQuery, Object.fromEntries(url.searchParams)).port ?? 22;
      const open = () => d.envs.openTunnel(user, decodeURIComponent(m[1]), port);
      const audited = tunnelAudit(req, url.pathname, d.trustProxy);
      const upstream = d.audit ? await d.audit.around(audited, user, open) : await open();
      if (req.headers.upgrade?.toLowerCase() === RAW_TCP) {
        // The CLI's fast path: after the 101 the connection is the env's TCP stream itself, no framing.
        socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${RAW_TCP}\r\nConnection: Upgrade\r\n\r\n`);
        splice(socket, upstream, head);
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => bridge(ws, upstream, d.log));
    })().catch((err) => reject(socket, err));
  });
  return wss;
}

/** The audit row of a tunnel opening: the upgrade's client, and its address as req.ip would say it. */
function tunnelAudit(req: IncomingMessage, pathname: string, trust?: (addr: string, i: number) => boolean) {
  const client = req.headers['x-hangar-client'] ?? req.headers['user-agent'];
  const peer = req.socket.remoteAddress;
  return {
    method: 'GET',
    path: pathname.slice('/api/v1'.length),
    client: (Array.isArray(client) ? client[0] : client)?.slice(0, 200) ?? null,
    address: (peer && trust ? proxyaddr(req, trust) : peer) ?? null,
    always: true,
  };
}

/** Two byte streams joined; either end closing closes both. */
function splice(client: Duplex, upstream: Duplex, head: Buffer): void {
  if (head.length) upstream.write(head);
  if ('setNoDelay' in client) (client as import('node:net').Socket).setNoDelay(true);
  client.pipe(upstream).pipe(client);
  const close = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', close);
  upstream.on('error', close);
  client.on('close', close);
  upstream.on('close', close);
}

function streamEvents(ws: WebSocket, ownerId: string | undefined, events: EventBus): void {
  const off = events.subscribe((e: EnvEvent) => {
    if (ownerId && e.owner_id !== ownerId) return;
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(e));
  });
  // Pings keep proxies from closing an idle stream and let both ends notice a dead peer.
  const ping = setInterval(() => ws.ping(), 20_000);
  ws.on('close', () => {
    off();
    clearInterval(ping);
  });
  ws.on('error', () => ws.terminate());
}

function bridge(ws: WebSocket, upstream: Duplex, log: Logger): void {
  const wsStream = createWebSocketStream(ws, { allowHalfOpen: false });
  const close = () => {
    upstream.destroy();
    wsStream.destroy();
  };
  wsStream.on('error', close);
  upstream.on('error', (err) => {
    log.debug({ err: String(err) }, 'tunnel upstream error');
    close();
  });
  upstream.on('close', () => ws.close());
  wsStream.pipe(upstream);
  upstream.pipe(wsStream);
}

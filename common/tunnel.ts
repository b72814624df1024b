// Client side of the gateway's tunnel to a port of an environment. Node only; used by `hangar proxy`.
// Two transports on one endpoint: a raw HTTP upgrade (`Upgrade: hangar-tcp`, no framing: the default), and a
// WebSocket carrying the bytes in binary frames (for proxies that pass only WebSockets, and for browsers).
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import WebSocket, { createWebSocketStream } from 'ws';
import { CLI_CLIENT } from './client';

export type TunnelTransport = 'raw' | 'websocket';

/** `agent`: for https:// gateways, the client's pin-checking agent (HangarClient.agent). */
export function openTunnel(
  httpUrl: string,
  token: string | undefined,
  transport: TunnelTransport = 'raw',
  agent?: http.Agent,
): Promise<Duplex> {
  return transport === 'raw'
    ? openRaw(httpUrl, token, agent)
    : openWebSocket(httpUrl.replace(/^http/, 'ws'), token, agent);
}

function errorFrom(status: number | undefined, body: string): Error {
  let msg = `HTTP ${status}`;
  try {
    msg = JSON.parse(body).error.message;
  } catch {
    /* keep status */
  }
  return Object.assign(new Error(msg), { status });
}

function openRaw(url: string, token: string | undefined, agent: http.Agent | undefined): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const req = (url.startsWith('https:') ? https : http).request(url, {
      headers: {
        connection: 'Upgrade',
        upgrade: 'hangar-tcp',
        'x-hangar-client': CLI_CLIENT,
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      timeout: 30_000,
      ...(agent ? { agent } : {}),
    });
    req.once('upgrade', (_res, socket, head) => {
      socket.setTimeout(0);
      socket.setNoDelay(true);
      if (head.length) socket.unshift(head);
      resolve(socket);
    });
    req.once('response', (res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += c.toString();
      });
      res.on('end', () => reject(errorFrom(res.statusCode, body)));
    });
    req.once('timeout', () => req.destroy(new Error('tunnel handshake timed out')));
    req.once('error', reject);
    req.end();
  });
}

function openWebSocket(wsUrl: string, token: string | undefined, agent: http.Agent | undefined): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      perMessageDeflate: false,
      handshakeTimeout: 30_000,
      ...(agent ? { agent } : {}),
      // A zero mask lets ws skip XOR-ing every byte (the mask only protects browsers' proxies from cache
      // poisoning; this is not a browser, and the payload is SSH ciphertext).
      generateMask: (mask: Buffer) => mask.fill(0),
    });
    ws.once('open', () => {
      ws.off('error', reject);
      resolve(createWebSocketStream(ws, { allowHalfOpen: false }));
    });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += c.toString();
      });
      res.on('end', () => reject(errorFrom(res.statusCode, body)));
    });
    ws.once('error', reject);
  });
}

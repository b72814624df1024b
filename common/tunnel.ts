// Client side of the gateway's TCP-over-WebSocket tunnel. Node only (ws); used by `hangar proxy`.
import type { Duplex } from 'node:stream';
import WebSocket, { createWebSocketStream } from 'ws';

export function openTunnel(wsUrl: string, token: string | undefined): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      perMessageDeflate: false,
      handshakeTimeout: 30_000,
    });
    ws.once('open', () => {
      ws.off('error', reject);
      resolve(createWebSocketStream(ws, { allowHalfOpen: false }));
    });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => {
        let msg = `HTTP ${res.statusCode}`;
        try { msg = JSON.parse(body).error.message; } catch { /* keep status */ }
        reject(Object.assign(new Error(msg), { status: res.statusCode }));
      });
    });
    ws.once('error', reject);
  });
}

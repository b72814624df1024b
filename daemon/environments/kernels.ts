// Busy Jupyter kernels count as activity (a notebook running a cell with no browser open must not be culled). Each
// policy tick lists the env's kernels straight over the backend's port (never through the gateway's proxy, so the
// probe is not itself a connection). Jupyter's own execution_state goes stale once no client is attached, so a
// kernel it doesn't call busy is asked on its shell channel: one that is executing a cell can't answer in time.
import crypto from 'node:crypto';
import http from 'node:http';
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import type { Environment } from '../../common/model';
import { JUPYTER_PORT, jupyterPath, type Backends } from '../contract';

const TIMEOUT_MS = 2000;

/** Whether any kernel of the env's Jupyter is executing; false when Jupyter doesn't answer. */
export async function kernelsBusy(backends: Backends, env: Environment, token: string): Promise<boolean> {
  const open = () => backends.get(env.backend_id).openPort(env.backend_ref!, JUPYTER_PORT) as Promise<Socket>;
  const base = jupyterPath(env.id);
  const kernels = await listKernels(await open().catch(() => null), `${base}api/kernels`, token);
  for (const k of kernels) {
    if (k.execution_state === 'busy') return true;
    const sock = await open().catch(() => null);
    if (sock && (await shellSilent(sock, `ws://localhost${base}api/kernels/${k.id}/channels`, token))) return true;
  }
  return false;
}

function listKernels(
  socket: Socket | null,
  path: string,
  token: string,
): Promise<{ id: string; execution_state?: string }[]> {
  if (!socket) return Promise.resolve([]);
  return new Promise((resolve) => {
    const req = http.request(
      { createConnection: () => socket, path, headers: { authorization: `token ${token}` }, timeout: TIMEOUT_MS },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => {
          socket.destroy();
          try {
            const v = JSON.parse(body);
            resolve(Array.isArray(v) ? v : []);
          } catch {
            resolve([]);
          }
        });
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => {
      socket.destroy();
      resolve([]);
    });
    req.end();
  });
}

/** A kernel_info_request on the shell channel left unanswered within the timeout: the kernel is executing. */
function shellSilent(socket: Socket, url: string, token: string): Promise<boolean> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { createConnection: () => socket, headers: { authorization: `token ${token}` } });
    const msgId = crypto.randomUUID();
    let settled = false;
    const done = (busy: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ws.terminate();
      resolve(busy);
    };
    const timer = setTimeout(() => done(true), TIMEOUT_MS);
    ws.on('error', () => done(false));
    ws.on('unexpected-response', () => done(false));
    ws.on('open', () =>
      ws.send(
        JSON.stringify({
          header: {
            msg_id: msgId,
            msg_type: 'kernel_info_request',
            username: 'hangar',
            session: msgId,
            version: '5.3',
          },
          parent_header: {},
          metadata: {},
          content: {},
          channel: 'shell',
        }),
      ),
    );
    ws.on('message', (raw) => {
      try {
        const m = JSON.parse(String(raw));
        if (m.parent_header?.msg_id === msgId && m.msg_type === 'kernel_info_reply') done(false);
      } catch {}
    });
  });
}

// noVNC in a webview: connects to the gateway's WebSocket bridge (binary frames; the bearer token rides in a
// subprotocol because browsers can't set headers), scales to fit, shares the clipboard, reconnects.
import RFB from '@novnc/novnc';
import type { FromDesktop, ToDesktop } from '../protocol';

declare function acquireVsCodeApi(): { postMessage(m: FromDesktop): void };
const vscode = acquireVsCodeApi();
const bar = document.getElementById('bar')!;
const screen = document.getElementById('screen')!;
let rfb: RFB | undefined;
let params: Extract<ToDesktop, { type: 'connect' }> | undefined;
let attempts = 0;
let timer: number | undefined;

function status(state: Extract<FromDesktop, { type: 'status' }>['state'], detail?: string): void {
  bar.textContent = `${params?.name ?? ''}: ${state}${detail ? ` — ${detail}` : ''}`;
  vscode.postMessage({ type: 'status', state, detail });
}

function connect(): void {
  if (!params) return;
  status('connecting');
  const r = new RFB(screen, params.wsUrl, {
    wsProtocols: ['binary', `bearer.${params.token}`],
    credentials: { password: params.password },
  });
  r.scaleViewport = true;
  r.resizeSession = false;
  r.focusOnClick = true;
  r.addEventListener('connect', () => {
    attempts = 0;
    status('connected');
  });
  r.addEventListener('credentialsrequired', () => r.sendCredentials({ password: params!.password }));
  r.addEventListener('securityfailure', (e) =>
    status('failed', `authentication: ${(e as CustomEvent).detail?.reason ?? 'refused'}`),
  );
  r.addEventListener('clipboard', (e) =>
    vscode.postMessage({ type: 'clipboard', text: (e as CustomEvent).detail.text }),
  );
  r.addEventListener('disconnect', (e) => {
    rfb = undefined;
    if ((e as CustomEvent).detail?.clean && attempts === 0) {
      status('disconnected');
      return;
    }
    // Sleep, network change, an env restart: retry with backoff.
    attempts++;
    const delay = Math.min(30_000, 500 * 2 ** Math.min(attempts, 6));
    status('disconnected', `reconnecting in ${Math.round(delay / 1000)} s`);
    timer = window.setTimeout(connect, delay);
  });
  rfb = r;
}

const handlers: { [K in ToDesktop['type']]: (m: Extract<ToDesktop, { type: K }>) => void } = {
  connect: (m) => {
    params = m;
    window.clearTimeout(timer);
    rfb?.disconnect();
    connect();
  },
  clipboard: (m) => rfb?.clipboardPasteFrom(m.text),
};

window.addEventListener('message', (e: MessageEvent<ToDesktop>) => {
  const h = handlers[e.data?.type] as ((m: ToDesktop) => void) | undefined;
  h?.(e.data);
});
vscode.postMessage({ type: 'ready' });

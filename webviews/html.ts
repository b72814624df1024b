// Webview HTML with a strict CSP: nothing loads but our own bundled script (nonce) and styles; the only network
// access is the WebSocket to the gateway. Pure, so tests serve the exact page the webview gets.
import crypto from 'node:crypto';

export const nonce = () => crypto.randomBytes(18).toString('base64');

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function desktopHtml(o: {
  scriptUri: string;
  cspSource: string;
  nonce: string;
  connectSrc: string;
  title: string;
}): string {
  const csp = [
    "default-src 'none'",
    `script-src 'nonce-${o.nonce}'`,
    `style-src ${o.cspSource} 'nonce-${o.nonce}'`,
    `img-src ${o.cspSource} data: blob:`,
    `font-src ${o.cspSource}`,
    `connect-src ${o.connectSrc}`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en"><head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${esc(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${esc(o.title)}</title>
<style nonce="${o.nonce}">
  html, body { margin: 0; padding: 0; height: 100%; background: #1e1e1e; overflow: hidden; }
  #bar { position: absolute; top: 0; left: 0; right: 0; height: 22px; font: 12px sans-serif; color: #ccc; background: #252526; padding: 3px 8px; box-sizing: border-box; }
  #screen { position: absolute; top: 22px; left: 0; right: 0; bottom: 0; }
</style>
</head><body>
<div id="bar" role="status" aria-live="polite">${esc(o.title)}: connecting…</div>
<div id="screen"></div>
<script type="module" nonce="${o.nonce}" src="${esc(o.scriptUri)}"></script>
</body></html>`;
}

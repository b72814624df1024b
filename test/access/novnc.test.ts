// The extension's noVNC page, served exactly as the webview gets it (same HTML, CSP and bundle), in headless
// Chromium, connected through the gateway to a real Xvnc: the screenshot shows the desktop.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { desktopHtml, nonce } from '../../webviews/html';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import { launchBrowser, SCREENSHOT_DIR } from '../ui/harness';

const DESKTOP_IMAGE = 'hangar-test/desktop:latest';
const SCRIPT = path.resolve(__dirname, '../../dist/webviews/desktop.js');

describe('access: noVNC page', function () {
  this.timeout(180_000);
  let d: TestDaemon;
  let server: http.Server;

  before(async () => {
    d = await startDaemon();
    const env = await d.admin.createEnvironment({
      name: 'screen',
      image: DESKTOP_IMAGE,
      image_pull_policy: 'never',
      environment_type: 'desktop',
    });
    await d.admin.waitFor(env.id, ['running']);
  });
  after(async () => {
    server?.close();
    for (const e of (await d?.admin.listEnvironments()) ?? [])
      await d.admin.deleteEnvironment(e.id).catch(() => undefined);
    await d?.close();
  });

  it('connects with the generated password and shows the desktop', async () => {
    const env = await d.admin.getEnvironment('screen');
    const conn = await d.admin.connection(env.id);
    const wsOrigin = d.url.replace(/^http/, 'ws');
    server = http.createServer((req, res) => {
      if (req.url === '/desktop.js') {
        res.writeHead(200, { 'content-type': 'text/javascript' });
        res.end(fs.readFileSync(SCRIPT));
        return;
      }
      const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(
        desktopHtml({
          scriptUri: `${origin}/desktop.js`,
          cspSource: origin,
          nonce: nonce(),
          connectSrc: wsOrigin,
          title: env.name,
        }),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

    const browser = await launchBrowser();
    try {
      const page = await (await browser.newContext({ viewport: { width: 1100, height: 720 } })).newPage();
      const fromPage: unknown[] = [];
      await page.exposeFunction('hangarPost', (m: unknown) => {
        fromPage.push(m);
      });
      const connect = {
        type: 'connect',
        wsUrl: `${wsOrigin}${conn.vnc!.websocket_path}`,
        token: d.token,
        password: conn.vnc!.password,
        name: env.name,
      };
      // Stand-in for the webview host: acquireVsCodeApi, and the extension's answer to "ready".
      // (A string, not a function: the test runner's transpiler decorates functions with helpers the page lacks.)
      await page.addInitScript(`
        window.acquireVsCodeApi = () => ({
          postMessage: (m) => {
            window.hangarPost(m);
            if (m.type === 'ready') setTimeout(() => window.postMessage(${JSON.stringify(connect)}, '*'), 0);
          },
        });`);
      const cspErrors: string[] = [];
      const consoleLines: string[] = [];
      page.on('console', (m) => {
        consoleLines.push(m.text());
        if (/Content Security Policy/i.test(m.text())) cspErrors.push(m.text());
      });
      page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
      await page.goto(url);
      await page
        .waitForFunction(() => /connected$/.test(document.getElementById('bar')?.textContent ?? ''), null, {
          timeout: 60_000,
        })
        .catch(async (e) => {
          throw new Error(
            `${e.message}\nbar: ${await page.textContent('#bar')}\nposted: ${JSON.stringify(fromPage)}\nconsole: ${consoleLines.join('\n')}`,
          );
        });
      // The desktop's root window is sea green (#2e8b57): wait until the canvas shows it.
      await page.waitForFunction(
        () => {
          const c = document.querySelector('#screen canvas') as HTMLCanvasElement | null;
          if (!c || !c.width) return false;
          const ctx = c.getContext('2d')!;
          const p = ctx.getImageData(Math.floor(c.width * 0.5), Math.floor(c.height * 0.9), 1, 1).data;
          return Math.abs(p[0] - 0x2e) < 12 && Math.abs(p[1] - 0x8b) < 12 && Math.abs(p[2] - 0x57) < 12;
        },
        null,
        { timeout: 60_000 },
      );
      fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
      await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'novnc-desktop.png') });
      assert.deepEqual(cspErrors, []);
      assert.ok(fromPage.some((m) => (m as { type: string; state?: string }).state === 'connected'));
    } finally {
      await browser.close();
    }
  });
});

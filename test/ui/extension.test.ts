// The packaged .vsix in a real VS Code (code-server), driven through the UI with Playwright + Chromium, against a
// real hangard and real Docker environments. Screenshots are kept under test-results/screenshots/.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import { JUPYTER_IMAGE, SSH_IMAGE } from '../helpers/docker';
import { tmpDir } from '../helpers/tmp';
import {
  clickActivityBar,
  clickNotificationButton,
  contextMenu,
  openWorkbench,
  quickInputType,
  quickPickSelect,
  REPO_ROOT,
  runCommand,
  runExtensionTests,
  screenshot,
  startCodeServer,
  treeItem,
  waitForNotification,
  type CodeServer,
  type Workbench,
  closeUiTest,
} from './harness';
import { uiState } from './uiState';

async function until<T>(fn: () => Promise<T | undefined>, what: string, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('ui: the extension in code-server', function () {
  this.timeout(300_000);
  let d: TestDaemon;
  let cs: CodeServer;
  let wb: Workbench;
  let vsix: string;
  const sshConfig = path.join(tmpDir('hangar-ui-ssh-'), 'config');
  const userLines = '# my settings\nHost build-box\n  HostName 127.0.0.7\n';

  before(async () => {
    execFileSync('bash', [path.join(REPO_ROOT, 'scripts/package-vsix.sh')], { stdio: 'inherit' });
    vsix = path.join(REPO_ROOT, 'dist/hangar.vsix');
    // code-server serves VS Code (and so its webviews) from http://127.0.0.1:<port>: allow it to frame Jupyter.
    d = await startDaemon({ configYaml: `jupyter_frame_ancestors: ["'self'", "http://127.0.0.1:*"]\n` });
    const env = await d.admin.createEnvironment({
      name: 'ui-box',
      image: JUPYTER_IMAGE,
      image_pull_policy: 'never',
      environment_type: 'ide',
    });
    const desk = await d.admin.createEnvironment({
      name: 'ui-desk',
      image: 'hangar-test/desktop:latest',
      image_pull_policy: 'never',
      environment_type: 'desktop',
    });
    await d.admin.waitFor(env.id, ['running']);
    await d.admin.waitFor(desk.id, ['running']);
    fs.writeFileSync(sshConfig, userLines, { mode: 0o600 });
    cs = await startCodeServer({
      workspace: tmpDir('hangar-ui-ws-'),
      extensionVsix: vsix,
      settings: { 'remote.SSH.configFile': sshConfig },
    });
    wb = await openWorkbench(cs);
  });

  after(() => closeUiTest(wb, cs, d));

  it('the .vsix is small and leaves sources out', () => {
    const size = fs.statSync(vsix).size;
    assert.ok(size < 2 * 1024 * 1024, `${size} bytes`);
    const listing = execFileSync('unzip', ['-l', vsix]).toString();
    assert.match(listing, /extension\/dist\/extension\.js/);
    assert.match(listing, /extension\/dist\/hangar\.js/);
    assert.match(listing, /package\.nls\.zh-cn\.json/);
    assert.doesNotMatch(listing, /\.ts\b|\.map\b|node_modules|daemon\//);
  });

  it('shows the welcome view, connects from the palette, and lists the real environment', async () => {
    const { page } = wb;
    await clickActivityBar(page, 'Hangar');
    await page.getByText('Connect to a Hangar gateway').first().waitFor({ timeout: 20_000 });
    await screenshot(page, '01-welcome-not-connected');
    await runCommand(page, 'Hangar: Connect to Gateway…');
    const title = (t: string) =>
      page.locator('.quick-input-widget .quick-input-title').filter({ hasText: t }).waitFor({ timeout: 15_000 });
    await title('(1/2)');
    await quickInputType(page, d.url);
    await title('(2/2)');
    await quickInputType(page, d.token);
    await waitForNotification(page, /Connected to/, { timeoutMs: 30_000 }).catch(async (e) => {
      await screenshot(page, '02-connect-failed');
      const toasts = await page.locator('.notifications-toasts').allTextContents();
      throw new Error(`${(e as Error).message}\nnotifications: ${toasts.join(' | ')}`);
    });
    await treeItem(page, 'ui-box').waitFor({ timeout: 20_000 });
    await screenshot(page, '02-connected-environments');
  });

  it('creates an environment through the guided input', async () => {
    const { page } = wb;
    await runCommand(page, 'Hangar: Create Environment…');
    // Each step reuses the same quick-input widget: wait for the step counter before answering.
    const step = (n: number) =>
      page
        .locator('.quick-input-widget .quick-input-title')
        .filter({ hasText: `${n}/11` })
        .waitFor({ timeout: 15_000 });
    await step(1);
    await quickInputType(page, 'Bad Name', { submit: false });
    await page
      .locator('.quick-input-widget .quick-input-message')
      .filter({ hasText: /lowercase/ })
      .waitFor({ timeout: 10_000 });
    await quickInputType(page, 'ui-made');
    await step(2);
    await quickPickSelect(page, 'terminal');
    await step(3);
    await quickPickSelect(page, 'local');
    await step(4);
    await quickInputType(page, SSH_IMAGE);
    await step(5);
    await quickInputType(page, '0.5');
    await step(6);
    await quickInputType(page, '256');
    await step(7);
    await quickPickSelect(page, 'none');
    await step(9);
    await quickPickSelect(page, 'local');
    await step(10);
    await quickPickSelect(page, 'persistent');
    await step(11);
    await screenshot(page, '03-create-last-step');
    await quickPickSelect(page, 'direct');
    await waitForNotification(page, /ui-made is running/, { timeoutMs: 120_000 });
    await treeItem(page, 'ui-made').waitFor({ timeout: 20_000 });
    await screenshot(page, '04-created');
    const env = await d.admin.getEnvironment('ui-made');
    assert.equal(env.status, 'running');
    assert.equal(env.cpu, 0.5);
    assert.equal(env.memory_mb, 256);
  });

  it('stops and starts it from the context menu', async () => {
    const { page } = wb;
    await contextMenu(page, 'ui-made', 'Stop');
    await until(async () => (await d.admin.getEnvironment('ui-made')).status === 'stopped' || undefined, 'stopped');
    await page
      .getByText(/Stopped \(1\)/)
      .first()
      .waitFor({ timeout: 20_000 });
    await screenshot(page, '05-stopped');
    await page
      .getByText(/Stopped \(1\)/)
      .first()
      .click();
    await contextMenu(page, 'ui-made', 'Start');
    await until(async () => (await d.admin.getEnvironment('ui-made')).status === 'running' || undefined, 'running');
    await page
      .getByText(/Running \(3\)/)
      .first()
      .waitFor({ timeout: 20_000 });
    await screenshot(page, '06-started');
  });

  it('attach writes the managed block and opens the vscode-remote URI', async () => {
    const { page, context } = wb;
    await contextMenu(page, 'ui-box', 'Open in Remote-SSH');
    await waitForNotification(page, /needs the Remote - SSH extension/);
    await screenshot(page, '07-attach-offer');
    const text = fs.readFileSync(sshConfig, 'utf8');
    assert.ok(text.startsWith(userLines), 'user lines kept');
    assert.match(text, /# --- START HANGAR 127\.0\.0\.1-\d+ ---/);
    assert.match(text, /Host hangar\.127\.0\.0\.1-\d+--\*/);
    const popup = context.waitForEvent('page', { timeout: 20_000 });
    await clickNotificationButton(page, /needs the Remote - SSH extension/, 'Open Anyway');
    const opened = await popup;
    // code-server keeps only the path of a vscode-remote folder; the integration suite checks the whole URI
    // handed to vscode.openFolder (the command's result).
    assert.match(decodeURIComponent(opened.url()), /[?&]folder=\/home\/hangar\b/);
    await opened.close();
    // The popup took the focus: a workbench left in the background does not lay out its webviews.
    await page.bringToFront();
  });

  it("Open Desktop shows the environment's desktop in a noVNC panel", async () => {
    const { page } = wb;
    await contextMenu(page, 'ui-desk', 'Open Desktop');
    const bar = page.frameLocator('iframe.webview').frameLocator('#active-frame').locator('#bar');
    await bar
      .filter({ hasText: /connected$/ })
      .waitFor({ timeout: 60_000 })
      .catch(async (e: Error) => {
        await screenshot(page, '08-desktop-failed');
        throw new Error(`${e.message}\n${await uiState(page, cs)}`);
      });
    await screenshot(page, '08-desktop-panel', { settleMs: 1500 });
  });

  it("Open Jupyter shows the environment's Jupyter in VS Code (served from the gateway through a session link)", async () => {
    const { page } = wb;
    await contextMenu(page, 'ui-box', 'Open Jupyter');
    // The newest webview (the desktop panel from the test before is still open).
    const inner = page
      .locator('iframe.webview')
      .last()
      .contentFrame()
      .locator('#active-frame')
      .contentFrame()
      .locator('iframe')
      .contentFrame();
    await inner
      .locator('body')
      .filter({ hasText: /Files|Running|Clusters|Upload/ })
      .first()
      .waitFor({ timeout: 60_000 })
      .catch(async (e: Error) => {
        await screenshot(page, '09-jupyter-failed');
        throw new Error(`${e.message}\n${await uiState(page, cs)}`);
      });
    await screenshot(page, '09-jupyter', { settleMs: 1500 });
  });

  it("the extension's own integration suite passes inside code-server", async () => {
    execFileSync(process.execPath, [path.join(REPO_ROOT, 'test/extension/build.mjs')], {
      cwd: REPO_ROOT,
      stdio: 'inherit',
    });
    const r = await runExtensionTests({
      extensionDevelopmentPath: REPO_ROOT,
      extensionTestsPath: path.join(REPO_ROOT, 'dist/test/extension/index.js'),
      env: { HANGAR_TEST_URL: d.url, HANGAR_TEST_TOKEN: d.token, HANGAR_TEST_ENV: 'ui-box' },
      settings: { 'remote.SSH.configFile': path.join(tmpDir('hangar-ext-ssh-'), 'config') },
    });
    const report = r.log
      .split('\n')
      .filter((l) => /✔|✓|passing|failing|\d+\)|activation:|Error|extension suite/.test(l))
      .join('\n');

    console.log(report.replace(/^/gm, '      '));
    assert.equal(r.code, 0, r.log.slice(-4000));
  });
});

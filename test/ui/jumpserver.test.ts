// Open in Remote-SSH through JumpServer in a real VS Code (code-server, the packaged .vsix, Playwright): the extension
// writes the managed block that sends a use_jumpserver env to KoKo (the KoKo double, a real SSH server, with the
// JumpServer API double behind it), and the real OpenSSH client through that block reaches the Docker env via KoKo.
// With KoKo's VS Code setting off, the extension explains the two KoKo settings instead of hanging.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { JumpServerApiDouble } from '../doubles/jumpserver-api';
import { KokoDouble } from '../doubles/koko';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import { SSH_IMAGE } from '../helpers/docker';
import { jumpServerYaml, runSsh } from '../helpers/jumpserver';
import { tmpDir } from '../helpers/tmp';
import {
  clickActivityBar,
  clickDialogButton,
  clickNotificationButton,
  connectGateway,
  closeUiTest,
  contextMenu,
  openWorkbench,
  REPO_ROOT,
  screenshot,
  startCodeServer,
  treeItem,
  waitForDialog,
  waitForNotification,
  type CodeServer,
  type Workbench,
} from './harness';

describe('ui: Open in Remote-SSH through JumpServer (KoKo) in code-server', function () {
  this.timeout(400_000);
  const api = new JumpServerApiDouble();
  const koko = new KokoDouble(api);
  const dir = tmpDir('hangar-ui-jms-');
  const sshConfig = path.join(dir, 'ssh_config');
  let d: TestDaemon;
  /** A second gateway with jumpserver.required, holding a desktop env. */
  let d2: TestDaemon;
  let cs: CodeServer;
  let wb: Workbench;

  before(async () => {
    execFileSync('bash', [path.join(REPO_ROOT, 'scripts/package-vsix.sh')], { stdio: 'inherit' });
    await api.start();
    await koko.start();
    const from = 24500 + (process.pid % 400);
    const jms = { api, dir, token: 'ui-tok', kokoPort: koko.port };
    d = await startDaemon({ configYaml: jumpServerYaml({ ...jms, ports: { from, to: from + 20 } }) });
    const env = await d.admin.createEnvironment({
      name: 'ui-jms',
      image: SSH_IMAGE,
      image_pull_policy: 'never',
      environment_type: 'terminal',
      use_jumpserver: true,
    });
    d2 = await startDaemon({
      configYaml: jumpServerYaml({ ...jms, ports: { from: from + 21, to: from + 40 }, extra: ['required: true'] }),
    });
    const desk = await d2.admin.createEnvironment({
      name: 'ui-jdesk',
      image: 'hangar-test/desktop:latest',
      image_pull_policy: 'never',
      environment_type: 'desktop',
      use_jumpserver: true,
    });
    await d.admin.waitFor(env.id, ['running']);
    await d2.admin.waitFor(desk.id, ['running']);
    fs.writeFileSync(sshConfig, '', { mode: 0o600 });
    cs = await startCodeServer({
      workspace: tmpDir('hangar-ui-ws-'),
      extensionVsix: path.join(REPO_ROOT, 'dist/hangar.vsix'),
      settings: { 'remote.SSH.configFile': sshConfig },
    });
    wb = await openWorkbench(cs);
    const { page } = wb;
    await clickActivityBar(page, 'Hangar');
    await page.getByText('Connect to a Hangar gateway').first().waitFor({ timeout: 20_000 });
    await connectGateway(page, d.url, d.token);
    await waitForNotification(page, /Connected to/, { timeoutMs: 30_000 });
    await treeItem(page, 'ui-jms').waitFor({ timeout: 30_000 });
    // The JumpServer user's own SSH key is the extension's key (the one it registered with the gateway).
    const [key] = await d.admin.listKeys();
    api.objects('users').find((u) => u.username === 'admin')!.public_key = key.public_key;
  });
  after(async () => {
    for (const e of (await d2?.admin.listEnvironments().catch(() => [])) ?? [])
      await d2.admin.deleteEnvironment(e.id).catch(() => undefined);
    await d2?.close();
    await closeUiTest(wb, cs, d);
    await koko.stop();
    await api.stop();
  });

  it('KoKo VS Code mode on: the managed block sends the env to KoKo; real ssh through it reaches the env', async () => {
    koko.enableLocalPortForward = koko.enableVscodeSupport = true;
    const { page } = wb;
    await contextMenu(page, 'ui-jms', 'Open in Remote-SSH');
    // The forward through KoKo answered, so the extension goes on to Remote-SSH (not installed in code-server).
    await waitForNotification(page, /needs the Remote - SSH extension/, { timeoutMs: 60_000 });
    await screenshot(page, 'jms-01-attach-through-koko');
    const conn = await d.admin.connection('ui-jms');
    const text = fs.readFileSync(sshConfig, 'utf8');
    const entry = text.slice(text.indexOf(`Host ${conn.ssh.host_alias}\n`)).split('\nHost ')[0];
    assert.match(
      entry,
      new RegExp(`HostName 127\\.0\\.0\\.1\\n  Port ${koko.port}\\n  User admin@hangar@hangar-ui-jms-`),
    );
    assert.match(entry, /ProxyCommand none/);
    const r = await runSsh(['-F', sshConfig, '-o', 'BatchMode=yes', conn.ssh.host_alias, 'echo via-koko-ui; whoami']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'via-koko-ui\nhangar\n');
    const recorded = api.objects('commands').map((c) => c.input);
    assert.ok(recorded.includes('echo via-koko-ui; whoami'), recorded.join('\n'));
  });

  it('KoKo VS Code mode off: the extension explains ENABLE_LOCAL_PORT_FORWARD and ENABLE_VSCODE_SUPPORT', async () => {
    koko.enableLocalPortForward = koko.enableVscodeSupport = false;
    const { page } = wb;
    await contextMenu(page, 'ui-jms', 'Open in Remote-SSH');
    await waitForNotification(page, /ENABLE_LOCAL_PORT_FORWARD: true and ENABLE_VSCODE_SUPPORT: true/, {
      timeoutMs: 30_000,
    });
    await screenshot(page, 'jms-02-koko-refuses-forwarding');
  });

  it("jumpserver.required: Open Desktop offers JumpServer's web terminal instead of the direct noVNC panel", async () => {
    const { page, context } = wb;
    await connectGateway(page, d2.url, d2.token);
    await treeItem(page, 'ui-jdesk').waitFor({ timeout: 30_000 });
    const hostId = api.objects('hosts').find((h) => h.name.startsWith('hangar-ui-jdesk-'))!.id;
    const link = `${api.url}/luna/?login_to=${hostId}`;
    await contextMenu(page, 'ui-jdesk', 'Open Desktop');
    await waitForNotification(page, /reached through JumpServer only: open its web terminal/, { timeoutMs: 30_000 });
    await screenshot(page, 'jms-03-desktop-through-jumpserver');
    const toast = await page.locator('.notifications-toasts').allTextContents();
    assert.ok(toast.join(' ').includes(link), toast.join(' | '));
    assert.equal(await page.locator('iframe.webview').count(), 0, 'no noVNC panel');
    const popup = context.waitForEvent('page', { timeout: 30_000 });
    await clickNotificationButton(page, /reached through JumpServer only/, 'Open in JumpServer');
    // VS Code may ask before opening an external site (link protection): say Open.
    void waitForDialog(page, /external website/, { timeoutMs: 10_000 })
      .then(() => clickDialogButton(page, /external website/, 'Open'))
      .catch(() => undefined);
    const opened = await popup;
    // code-server sends links to localhost through its own port proxy (/proxy/<port>/…).
    const port = new URL(api.url).port;
    assert.match(opened.url(), new RegExp(`(127\\.0\\.0\\.1:${port}|/proxy/${port})/luna/\\?login_to=${hostId}$`));
    await opened.close();
  });
});

// The extension against an https gateway (self-signed): the first connect shows the certificate's fingerprint in a
// modal, accepting it pins it and the environments list; the pin reaches the bundled CLI's config, so the SSH
// ProxyCommand that attach writes connects through the real OpenSSH client.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { sshAlias } from '../../common/names';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import { SSH_IMAGE } from '../helpers/docker';
import { tmpDir } from '../helpers/tmp';
import {
  clickActivityBar,
  clickDialogButton,
  contextMenu,
  openWorkbench,
  quickInputType,
  REPO_ROOT,
  runCommand,
  screenshot,
  startCodeServer,
  treeItem,
  waitForDialog,
  waitForNotification,
  type CodeServer,
  type Workbench,
  closeUiTest,
} from './harness';

describe('ui: the extension with an https gateway', function () {
  this.timeout(300_000);
  let d: TestDaemon;
  let cs: CodeServer;
  let wb: Workbench;
  const sshConfig = path.join(tmpDir('hangar-ui-tls-ssh-'), 'config');
  /** The real OpenSSH client with the config file attach wrote (its ProxyCommand runs the extension's CLI). */
  const ssh = (alias: string) =>
    new Promise<{ code: number; out: string; err: string }>((resolve) => {
      execFile('ssh', ['-F', sshConfig, '-o', 'BatchMode=yes', alias, 'echo ok'], { timeout: 60_000 }, (e, o, er) =>
        resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, out: o, err: er }),
      );
    });

  before(async () => {
    const vsix = path.join(REPO_ROOT, 'dist/hangar.vsix');
    // extension.test.ts (sorted before this file) packages it; alone, package it here.
    if (
      !fs.existsSync(vsix) ||
      fs.statSync(vsix).mtimeMs < fs.statSync(path.join(REPO_ROOT, 'dist/extension.js')).mtimeMs
    ) {
      execFileSync('bash', [path.join(REPO_ROOT, 'scripts/package-vsix.sh')], { stdio: 'inherit' });
    }
    d = await startDaemon({ configYaml: 'tls: self-signed\n' });
    const env = await d.admin.createEnvironment({
      name: 'tls-box',
      image: SSH_IMAGE,
      image_pull_policy: 'never',
      environment_type: 'terminal',
    });
    await d.admin.waitFor(env.id, ['running']);
    fs.writeFileSync(sshConfig, '', { mode: 0o600 });
    cs = await startCodeServer({
      workspace: tmpDir('hangar-ui-tls-ws-'),
      extensionVsix: vsix,
      settings: { 'remote.SSH.configFile': sshConfig },
    });
    wb = await openWorkbench(cs);
  });

  after(() => closeUiTest(wb, cs, d));

  it('first connect shows the fingerprint; accepting it connects and lists the environments', async () => {
    const { page } = wb;
    assert.match(d.url, /^https:/);
    await clickActivityBar(page, 'Hangar');
    await runCommand(page, 'Hangar: Connect to Gateway…');
    const title = (t: string) =>
      page.locator('.quick-input-widget .quick-input-title').filter({ hasText: t }).waitFor({ timeout: 15_000 });
    await title('(1/2)');
    await quickInputType(page, d.url);
    await title('(2/2)');
    await quickInputType(page, d.token);
    const dialog = await waitForDialog(page, /no trusted authority signed/, { timeoutMs: 30_000 });
    assert.ok((await dialog.textContent())?.includes(d.server.tlsFingerprint!), 'the modal shows the fingerprint');
    await screenshot(page, 'tls-01-fingerprint');
    await clickDialogButton(page, /no trusted authority signed/, 'Trust and Connect');
    await waitForNotification(page, /Connected to/, { timeoutMs: 30_000 });
    await treeItem(page, 'tls-box').waitFor({ timeout: 20_000 });
    await screenshot(page, 'tls-02-connected');
    // The pin went into the bundled CLI's config beside the token.
    const cliConfig = path.join(cs.userDataDir, 'User/globalStorage/hangar-dev.hangar/cli/config.json');
    assert.equal(
      JSON.parse(fs.readFileSync(cliConfig, 'utf8')).gateways[d.url].tls_fingerprint,
      d.server.tlsFingerprint,
    );
  });

  it('the ProxyCommand attach writes checks the pin: ssh reaches the env over the https gateway', async () => {
    const { page } = wb;
    await contextMenu(page, 'tls-box', 'Open in Remote-SSH');
    await waitForNotification(page, /needs the Remote - SSH extension/);
    const out = await ssh(sshAlias(d.url, 'tls-box'));
    assert.equal(out.code, 0, out.err);
    assert.equal(out.out.trim(), 'ok');
  });

  it('a gateway back with another certificate is refused at connect, naming both fingerprints', async () => {
    const { page } = wb;
    const first = d.server.tlsFingerprint!;
    const port = Number(new URL(d.url).port);
    await d.close();
    fs.rmSync(path.join(d.dataDir, 'tls'), { recursive: true });
    d = await startDaemon({ dataDir: d.dataDir, configYaml: 'tls: self-signed\n', port });
    const second = d.server.tlsFingerprint!;
    assert.notEqual(second, first);
    await runCommand(page, 'Hangar: Connect to Gateway…');
    const title = (t: string) =>
      page.locator('.quick-input-widget .quick-input-title').filter({ hasText: t }).waitFor({ timeout: 15_000 });
    await title('(1/2)');
    await quickInputType(page, d.url);
    await title('(2/2)');
    await quickInputType(page, d.token);
    const dialog = await waitForDialog(page, /changed: not connected/, { timeoutMs: 30_000 });
    const text = (await dialog.textContent()) ?? '';
    assert.ok(text.includes(first) && text.includes(second), text);
    assert.match(text, /log out of this gateway and connect again/);
    await screenshot(page, 'tls-03-changed');
    await page.keyboard.press('Escape');
    // The pin is unchanged: nothing was re-pinned behind the user's back.
    const cliConfig = path.join(cs.userDataDir, 'User/globalStorage/hangar-dev.hangar/cli/config.json');
    assert.equal(JSON.parse(fs.readFileSync(cliConfig, 'utf8')).gateways[d.url].tls_fingerprint, first);
    // And the ProxyCommand refuses it too.
    const r = await ssh(sshAlias(d.url, 'tls-box'));
    assert.notEqual(r.code, 0);
    assert.match(r.err, /changed: pinned SHA-256/);
  });
});

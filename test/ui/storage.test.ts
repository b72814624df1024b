// The extension's Storage view in code-server against a real hangard and Docker: a volume made with "Create
// Volume…" shows with its size and backend, a listed share with its per-user directories, and "Delete Volume"
// (after the modal) removes it on the gateway. Screenshot: test-results/screenshots/30-storage-view.png.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { HangarClient } from '../../common/client';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import { tmpDir } from '../helpers/tmp';
import {
  clickActivityBar,
  clickDialogButton,
  closeUiTest,
  connectGateway,
  contextMenu,
  openWorkbench,
  quickInputType,
  REPO_ROOT,
  runCommand,
  screenshot,
  startCodeServer,
  treeItem,
  type CodeServer,
  type Workbench,
  waitForDialog,
  waitForNotification,
} from './harness';

describe('ui: the Storage view in code-server', function () {
  this.timeout(300_000);
  const user = `dora${Date.now() % 100000}`;
  let d: TestDaemon;
  let cs: CodeServer;
  let wb: Workbench;
  let me: HangarClient;
  let token: string;

  before(async () => {
    execFileSync('bash', [path.join(REPO_ROOT, 'scripts/package-vsix.sh')], { stdio: 'inherit' });
    d = await startDaemon({
      configYaml: `shares:\n  - {name: team-homes, server: 127.0.0.1, export: /export, users: [${user}], sub_directories: per_user}\n`,
    });
    token = (await d.admin.createUser(user)).token;
    me = new HangarClient({ url: d.url, token });
    cs = await startCodeServer({
      workspace: tmpDir('hangar-ui-ws-'),
      extensionVsix: path.join(REPO_ROOT, 'dist/hangar.vsix'),
    });
    wb = await openWorkbench(cs);
  });
  after(async () => {
    for (const v of (await me?.volumes().catch(() => [])) ?? []) await me.deleteVolume(v.id).catch(() => undefined);
    await closeUiTest(wb, cs, d);
  });

  it('create a volume, see it with the share, delete it from its context menu', async () => {
    const { page } = wb;
    await clickActivityBar(page, 'Hangar');
    await connectGateway(page, d.url, token);
    await waitForNotification(page, /Connected to/, { timeoutMs: 30_000 });
    // The view starts collapsed.
    await page.locator('.pane-header', { hasText: 'Storage' }).first().click();
    await runCommand(page, 'Hangar: Create Volume…');
    await quickInputType(page, 'ui-vol');
    await quickInputType(page, '3');
    const row = treeItem(page, 'ui-vol');
    await row.waitFor({ timeout: 20_000 });
    assert.match(await row.innerText(), /3 GiB · local · not mounted/);
    assert.match(await treeItem(page, 'team-homes').innerText(), /NFS · a directory per user · not mounted/);
    assert.deepEqual(
      (await me.volumes()).map((v) => [v.name, v.size_gb]),
      [['ui-vol', 3]],
    );
    await screenshot(page, '30-storage-view');
    await contextMenu(page, 'ui-vol', 'Delete Volume');
    await waitForDialog(page, /Delete volume ui-vol and its data\?/);
    await clickDialogButton(page, /Delete volume ui-vol/, 'Delete');
    await row.waitFor({ state: 'detached', timeout: 20_000 });
    assert.deepEqual(await me.volumes(), []);
  });
});

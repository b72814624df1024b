// Backups in the extension in code-server, against a real hangard, a Docker env and the test S3 server (versitygw):
// "Back Up Now" on the env's Backups node makes a complete backup that the node then shows as the last backup (when,
// status, size); files changed and added after it; "Restore from Backup…" lists it in a QuickPick, asks in a modal
// (the running env is stopped for it) and puts the home back exactly — the changed file as it was, the added one gone —
// and the env runs again. A volume with a schedule gets a Backups row in the Storage view, where Back Up Now works too.
// Screenshots: test-results/screenshots/40-backups.png, 41-volume-backups.png.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { HangarClient } from '../../common/client';
import { backupWhen } from '../../extension/tree/backupModel';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import { docker, SSH_IMAGE } from '../helpers/docker';
import { ensureS3Server, uniqueBucket } from '../helpers/s3';
import { tmpDir } from '../helpers/tmp';
import { backupStoreYaml } from '../helpers/volumeData';
import {
  clickActivityBar,
  clickDialogButton,
  closeUiTest,
  connectGateway,
  contextMenu,
  openWorkbench,
  quickPickSelect,
  REPO_ROOT,
  runCommand,
  screenshot,
  startCodeServer,
  treeItem,
  waitForDialog,
  waitForNotification,
  type CodeServer,
  type Workbench,
} from './harness';

describe('ui: backups of an env in code-server (real daemon, Docker env, test S3 server)', function () {
  this.timeout(480_000);
  const sfx = crypto.randomBytes(3).toString('hex');
  const envName = `ui-bak-${sfx}`;
  let d: TestDaemon;
  let cs: CodeServer;
  let wb: Workbench;
  let me: HangarClient;
  let token: string;
  let ref = '';
  let home = '';
  const inEnv = (script: string) => docker('exec', ref, 'sh', '-c', script);

  before(async () => {
    ensureS3Server();
    execFileSync('bash', [path.join(REPO_ROOT, 'scripts/package-vsix.sh')], { stdio: 'inherit' });
    d = await startDaemon({ configYaml: backupStoreYaml(uniqueBucket('hangar-uibak')) });
    token = (await d.admin.createUser(`erin${sfx}`, 'user')).token;
    me = new HangarClient({ url: d.url, token });
    await me.createEnvironment({
      name: envName,
      image: SSH_IMAGE,
      image_pull_policy: 'never',
      storage_config: { mounts: [{ type: 'volume', source: 'uidata', target: '/data' }] },
    });
    const env = await me.waitFor(envName, ['running'], { timeoutMs: 120_000 });
    ref = env.backend_ref!;
    home = `/home/${env.ssh_user}`;
    await inEnv(`echo v1 > ${home}/notes.txt`);
    cs = await startCodeServer({
      workspace: tmpDir('hangar-ui-ws-'),
      extensionVsix: path.join(REPO_ROOT, 'dist/hangar.vsix'),
    });
    wb = await openWorkbench(cs);
  });
  after(() => closeUiTest(wb, cs, d));

  it('Back Up Now shows the last backup in the tree; Restore from Backup… puts the home back exactly', async () => {
    const { page } = wb;
    await clickActivityBar(page, 'Hangar');
    await connectGateway(page, d.url, token);
    await waitForNotification(page, /Connected to/, { timeoutMs: 30_000 });
    // The env row opens on a click; its first child is the Backups node.
    await treeItem(page, envName).waitFor({ timeout: 30_000 });
    await treeItem(page, envName).click();
    await treeItem(page, 'Backups').waitFor({ timeout: 15_000 });

    await contextMenu(page, 'Backups', 'Back Up Now');
    await waitForNotification(page, new RegExp(`Backup of ${envName}: complete · `), { timeoutMs: 120_000 });
    const [b] = await me.backups({ environment: envName });
    assert.deepEqual([b.status, b.trigger], ['complete', 'manual']);
    await treeItem(page, 'Backups').click();
    const last = treeItem(page, `Last backup: ${backupWhen(b)}`);
    await last.waitFor({ timeout: 20_000 });
    assert.match(await last.innerText(), /complete · \d+(\.\d)? (B|KiB|MiB) · manual/);
    await screenshot(page, '40-backups');

    await inEnv(`echo v2 > ${home}/notes.txt && echo later > ${home}/later.txt`);
    await contextMenu(page, 'Backups', 'Restore from Backup…');
    await quickPickSelect(page, backupWhen(b));
    const ask = new RegExp(`Restore ${envName} from the backup of`);
    await waitForDialog(page, ask);
    await clickDialogButton(page, ask, 'Stop and Restore');
    await waitForNotification(page, new RegExp(`Restored ${envName} from the backup of`), { timeoutMs: 300_000 });
    assert.equal((await me.getEnvironment(envName)).status, 'running');
    assert.equal(await inEnv(`cat ${home}/notes.txt; ls ${home}/later.txt 2>/dev/null || echo gone`), 'v1\ngone');
  });

  it('the Storage view: a volume with a schedule has a Backups row; Back Up Now there shows its last backup', async () => {
    const { page } = wb;
    const vol = (await me.volumes()).find((v) => v.name === 'uidata')!;
    await me.putBackupSchedule({ volume: vol.id, cron: '0 3 * * *', timezone: 'Asia/Shanghai', keep: 3 });
    await runCommand(page, 'Hangar: Refresh');
    await page.locator('.pane-header', { hasText: 'Storage' }).first().click();
    const storage = page.locator('.pane', { has: page.locator('.pane-header', { hasText: 'Storage' }) }).first();
    const row = treeItem(page, 'Backups', storage);
    await row.waitFor({ timeout: 20_000 });
    assert.match(await row.innerText(), /0 3 \* \* \* \(Asia\/Shanghai\), keep 3/);
    await contextMenu(page, 'Backups', 'Back Up Now', storage);
    await waitForNotification(page, /Backup of uidata: complete · /, { timeoutMs: 120_000 });
    const [b] = await me.backups({ volume: vol.id });
    assert.deepEqual(
      [b.status, b.target_kind, b.items.map((i) => i.item)],
      ['complete', 'volume', [`volume:${vol.id}`]],
    );
    await row.click();
    await treeItem(page, `Last backup: ${backupWhen(b)}`, storage).waitFor({ timeout: 20_000 });
    await screenshot(page, '41-volume-backups');
  });
});

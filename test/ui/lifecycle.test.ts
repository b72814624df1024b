// The lifecycle warning in a real VS Code (code-server): an env ~10 minutes from its automatic stop raises a warning
// with "Extend"; clicking it pushes the stop out through the gateway. The tree's description shows the next action.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import { SSH_IMAGE } from '../helpers/docker';
import { tmpDir } from '../helpers/tmp';
import {
  clickActivityBar,
  clickNotificationButton,
  openWorkbench,
  quickInputType,
  REPO_ROOT,
  runCommand,
  screenshot,
  startCodeServer,
  treeItem,
  waitForNotification,
  type CodeServer,
  type Workbench,
  closeUiTest,
} from './harness';

describe('ui: lifecycle warnings in code-server', function () {
  this.timeout(300_000);
  let d: TestDaemon;
  let cs: CodeServer;
  let wb: Workbench;

  before(async () => {
    execFileSync('bash', [path.join(REPO_ROOT, 'scripts/package-vsix.sh')], { stdio: 'inherit' });
    d = await startDaemon();
    cs = await startCodeServer({
      workspace: tmpDir('hangar-ui-ws-'),
      extensionVsix: path.join(REPO_ROOT, 'dist/hangar.vsix'),
    });
    wb = await openWorkbench(cs);
  });
  after(() => closeUiTest(wb, cs, d));

  it('warns before an automatic stop and Extend pushes it out', async () => {
    // Idle 8 min with nobody connected: its automatic stop is within the warning's 10 minutes from the start.
    const env = await d.admin.createEnvironment({
      name: 'ui-od',
      image: SSH_IMAGE,
      image_pull_policy: 'never',
      environment_type: 'terminal',
      lifecycle_policy: 'on_demand',
      lifecycle_config: { idle_timeout_minutes: 8 },
    });
    await d.admin.waitFor(env.id, ['running']);
    const before = Date.parse((await d.admin.getEnvironment(env.id)).next_action!.at!);
    const { page } = wb;
    await clickActivityBar(page, 'Hangar');
    await page.getByText('Connect to a Hangar gateway').first().waitFor({ timeout: 20_000 });
    await runCommand(page, 'Hangar: Connect to Gateway…');
    const title = (t: string) =>
      page.locator('.quick-input-widget .quick-input-title').filter({ hasText: t }).waitFor({ timeout: 15_000 });
    await title('(1/2)');
    await quickInputType(page, d.url);
    await title('(2/2)');
    await quickInputType(page, d.token);
    await waitForNotification(page, /Connected to/, { timeoutMs: 30_000 });
    await treeItem(page, 'ui-od').waitFor({ timeout: 30_000 });
    await page
      .getByText(/stop in \d+ min/)
      .first()
      .waitFor({ timeout: 20_000 });
    await waitForNotification(page, /ui-od stops in \d+ min \(idle 8 min\)/, { timeoutMs: 60_000 });
    await screenshot(page, 'lifecycle-warning');
    await clickNotificationButton(page, /ui-od stops in/, 'Extend');
    for (let end = Date.now() + 20_000; ;) {
      const at = Date.parse((await d.admin.getEnvironment(env.id)).next_action!.at!);
      if (at >= before + 119 * 60_000) break;
      assert.ok(Date.now() < end, 'Extend did not push the stop out');
      await new Promise((r) => setTimeout(r, 250));
    }
  });
});

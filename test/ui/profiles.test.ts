// The extension's profile picker in code-server against a real hangard and Docker: a user restricted to profiles
// picks one (what it gives shown), answers its option, names it, and the env comes up from that profile.
// The picker's screenshot is test-results/screenshots/20-profile-picker.png.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import { SSH_IMAGE } from '../helpers/docker';
import { tmpDir } from '../helpers/tmp';
import {
  clickActivityBar,
  clickDialogButton,
  contextMenu,
  openWorkbench,
  quickInputType,
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
  closeUiTest,
} from './harness';

const CONFIG = `
profiles_only_for_roles: [user]
profiles:
  - name: tiny
    display_name: Tiny terminal
    description: A small SSH box for scripts
    environment: { image: ${SSH_IMAGE}, image_pull_policy: never, environment_type: terminal, cpu: 0.5, lifecycle_policy: on_demand }
    options:
      memory_mb: { choices: [128, 256], default: 128 }
    teams: [ml]
  - name: pytorch-a100
    display_name: PyTorch on A100
    description: Single-node multi-GPU training
    environment: { image: 'nvcr.io/nvidia/pytorch:24.07-py3', environment_type: training, gpu_mode: exclusive, gpu_model: A100, cpu: 16, memory_mb: 131072 }
    options:
      gpu_count: { choices: [1, 2, 4, 8], default: 1 }
    teams: [ml]
  - name: desktop
    display_name: Desktop (VNC/RDP)
    description: An XFCE desktop
    environment: { image: 'hangar-test/desktop:latest', environment_type: desktop, cpu: 2, memory_mb: 4096 }
  - name: web-only
    display_name: Web team box
    environment: { image: ${SSH_IMAGE}, environment_type: terminal }
    teams: [web]
`;

describe('ui: create from a profile in code-server', function () {
  this.timeout(300_000);
  let d: TestDaemon;
  let cs: CodeServer;
  let wb: Workbench;
  let token: string;

  before(async () => {
    execFileSync('bash', [path.join(REPO_ROOT, 'scripts/package-vsix.sh')], { stdio: 'inherit' });
    d = await startDaemon({ configYaml: CONFIG });
    token = (await d.admin.createUser(`carol${Date.now() % 100000}`, 'user', 'ml')).token;
    cs = await startCodeServer({
      workspace: tmpDir('hangar-ui-ws-'),
      extensionVsix: path.join(REPO_ROOT, 'dist/hangar.vsix'),
      settings: { 'remote.SSH.configFile': path.join(tmpDir('hangar-ui-ssh-'), 'config') },
    });
    wb = await openWorkbench(cs);
  });
  after(() => closeUiTest(wb, cs, d));

  it('pick a profile, its option, a name: the env is created from the profile', async () => {
    const { page } = wb;
    await clickActivityBar(page, 'Hangar');
    await runCommand(page, 'Hangar: Connect to Gateway…');
    const title = (t: string) =>
      page.locator('.quick-input-widget .quick-input-title').filter({ hasText: t }).waitFor({ timeout: 15_000 });
    await title('(1/2)');
    await quickInputType(page, d.url);
    await title('(2/2)');
    await quickInputType(page, token);
    await waitForNotification(page, /Connected to/, { timeoutMs: 30_000 });

    await runCommand(page, 'Hangar: Create Environment…');
    await title('1/2');
    // The user's team's profiles with what each gives; no other team's, and no custom form for this role.
    const rows = page.locator('.quick-input-widget .quick-input-list .monaco-list-row');
    await rows.filter({ hasText: 'Tiny terminal' }).first().waitFor({ timeout: 15_000 });
    const shown = (await rows.allTextContents()).join('\n');
    assert.match(shown, /PyTorch on A100.*pytorch-a100 — Single-node multi-GPU training/s);
    assert.match(shown, /nvcr\.io\/nvidia\/pytorch:24\.07-py3 · docker_local · 1\/2\/4\/8× A100/);
    assert.match(shown, /hangar-test\/ssh:latest · docker_local · no GPU · local storage · lifecycle on_demand/);
    assert.doesNotMatch(shown, /Web team box|Custom environment/);
    await screenshot(page, '20-profile-picker');
    await quickPickSelect(page, 'Tiny terminal');
    await title('2/3');
    await screenshot(page, '21-profile-option');
    await quickPickSelect(page, '256');
    await title('3/3');
    await quickInputType(page, 'ui-prof');
    await waitForNotification(page, /ui-prof is running/, { timeoutMs: 120_000 });
    await treeItem(page, 'ui-prof').waitFor({ timeout: 20_000 });
    const [env] = await d.admin.listEnvironments({ name: 'ui-prof' });
    assert.deepEqual(
      [env.status, env.profile, env.profile_options, env.cpu, env.memory_mb, env.image],
      ['running', 'tiny', { memory_mb: 256 }, 0.5, 256, SSH_IMAGE],
    );
  });

  it("the env's profile drift is a context-menu command, which also makes another from the same profile", async () => {
    const { page } = wb;
    await contextMenu(page, 'ui-prof', 'Profile: What Changed Since Creation…');
    await waitForDialog(page, /ui-prof matches its profile tiny/);
    await screenshot(page, '22-profile-drift');
    await clickDialogButton(page, /ui-prof matches its profile tiny/, 'Create Another from It…');
    await quickInputType(page, 'ui-prof-two');
    await waitForNotification(page, /ui-prof-two is running/, { timeoutMs: 120_000 });
    const [env] = await d.admin.listEnvironments({ name: 'ui-prof-two' });
    assert.deepEqual([env.profile, env.profile_options, env.memory_mb], ['tiny', { memory_mb: 256 }, 256]);
  });
});

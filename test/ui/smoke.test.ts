// The UI harness end to end, without the Hangar extension: code-server starts, the workbench shows in
// Chromium, the command palette and a terminal work, a screenshot is kept, and stop() leaves no process.
// Also runs a fixture extension's integration suite in the extension host (runExtensionTests).
// Needs `bash test/setup/code-server.sh` first; fails (does not skip) when code-server can't start.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { tmpDir as newTmpDir } from '../helpers/tmp';
import {
  clickActivityBar,
  clickNotificationButton,
  contextMenu,
  openCommandPalette,
  openWorkbench,
  packageVsix,
  quickInputMessage,
  quickInputType,
  quickPickItem,
  quickPickSelect,
  runCommand,
  runExtensionTests,
  screenshot,
  startCodeServer,
  treeItem,
  waitForNotification,
  type CodeServer,
  type Workbench,
} from './harness';

const FIXTURE = path.join(__dirname, 'fixtures', 'ext-tests');

function pidAlive(pid: number): boolean {
  try {
    const state = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
    return state !== undefined && state !== 'Z';
  } catch {
    return false;
  }
}

const comm = (pid: number) => {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
};
function sessionOf(pid: number): number | undefined {
  try {
    return Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[3]);
  } catch {
    return undefined;
  }
}

describe('ui harness (code-server + Chromium)', function () {
  this.timeout(180_000);
  let cs: CodeServer | undefined;
  let wb: Workbench | undefined;
  const dirs: string[] = [];
  const tmpDir = (prefix: string) => {
    const d = newTmpDir(prefix);
    dirs.push(d);
    return d;
  };
  after(() => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  afterEach(async () => {
    await wb?.close().catch(() => undefined);
    await cs?.stop().catch(() => undefined);
    wb = undefined;
    cs = undefined;
  });

  it('shows the workbench and the command palette, runs a terminal, and stops without leaving a process', async () => {
    const workspace = tmpDir('hangar-ui-ws-');
    fs.writeFileSync(path.join(workspace, 'hello.txt'), 'hello from the smoke test\n');
    cs = await startCodeServer({ workspace, settings: { 'workbench.colorTheme': 'Default Light Modern' } });
    assert.match(cs.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.equal(fs.existsSync(path.join(cs.extensionsDir)), true);

    wb = await openWorkbench(cs);
    const { page } = wb;
    await clickActivityBar(page, 'Explorer');
    await treeItem(page, 'hello.txt').waitFor({ state: 'visible' });

    const input = await openCommandPalette(page);
    await input.fill('>View: Toggle');
    await quickPickItem(page, 'View: Toggle Minimap').waitFor({ state: 'visible' });
    const shot = await screenshot(page, 'smoke-command-palette');
    assert.ok(fs.statSync(shot).size > 10_000, `${shot} looks empty`);
    await page.keyboard.press('Escape');

    // A palette command with a visible effect; the terminal's shell runs in its own session (node-pty),
    // which stop() must clean up too.
    await runCommand(page, 'Terminal: Create New Terminal');
    await page.locator('.terminal-wrapper .xterm').first().waitFor({ state: 'visible', timeout: 30_000 });
    // The terminal draws on a canvas: prove the shell runs by what it writes.
    await page.keyboard.type('echo smoke-$((6 * 7)) > terminal-says.txt\n');
    const said = path.join(workspace, 'terminal-says.txt');
    for (
      const deadline = Date.now() + 20_000;
      !(fs.existsSync(said) && fs.readFileSync(said, 'utf8') === 'smoke-42\n');
    ) {
      assert.ok(Date.now() < deadline, 'the terminal did not run the command');
      await new Promise((r) => setTimeout(r, 200));
    }
    await screenshot(page, 'smoke-terminal');

    // The terminal's shell: a process of the instance in a session of its own.
    let pids: number[];
    for (const deadline = Date.now() + 20_000; ; await new Promise((r) => setTimeout(r, 200))) {
      pids = cs.processes();
      if (pids.some((pid) => sessionOf(pid) === pid && pid !== cs!.pid)) break;
      assert.ok(Date.now() < deadline, `no terminal shell among ${pids.map((p) => `${p}:${comm(p)}`).join(' ')}`);
    }
    assert.ok(pids.length >= 4, `expected code-server with its helpers, found ${pids.join(' ')}`);

    await wb.close();
    wb = undefined;
    const stopped = cs;
    cs = undefined;
    await stopped.stop();
    assert.deepEqual(pids.filter(pidAlive), [], 'every process of the instance is gone');
    assert.deepEqual(stopped.processes(), []);
    assert.equal(fs.existsSync(stopped.dir), process.env.HANGAR_UI_KEEP === '1');
  });

  it("rejects with code-server's output when it cannot start, leaving nothing behind", async () => {
    const workspace = tmpDir('hangar-ui-ws-');
    const err = await startCodeServer({ workspace, args: ['--no-such-flag'] }).then(
      () => undefined,
      (e: Error) => e,
    );
    assert.ok(err, 'startCodeServer resolved');
    assert.match(err.message, /code-server exited/);
    assert.match(err.message, /Unknown option --no-such-flag/);
  });

  it('installs a .vsix and drives its commands, quick pick, input box, tree context menu and notifications', async () => {
    const vsix = await packageVsix(FIXTURE, path.join(tmpDir('hangar-ui-vsix-'), 'fixture.vsix'));
    cs = await startCodeServer({
      workspace: tmpDir('hangar-ui-ws-'),
      extensionVsix: vsix,
      env: { HANGAR_FIXTURE_GREETING: 'from the vsix test' },
    });
    assert.ok(fs.readdirSync(cs.extensionsDir).some((d) => d.startsWith('hangar-dev.hangar-harness-fixture-')));
    wb = await openWorkbench(cs);
    const { page } = wb;

    await runCommand(page, 'Hangar Fixture: Hello');
    await waitForNotification(page, 'Hello from the fixture (from the vsix test)');
    await screenshot(page, 'smoke-notification');

    await runCommand(page, 'Hangar Fixture: Ask');
    await quickPickSelect(page, 'beta');
    await quickInputType(page, 'Not Valid', { submit: false });
    await page.waitForFunction(() =>
      /lower-case letters only/.test(document.querySelector('.quick-input-widget')?.textContent ?? ''),
    );
    assert.match(await quickInputMessage(page), /lower-case letters only/);
    await quickInputType(page, 'valid');
    await waitForNotification(page, 'Picked beta, named valid');

    await clickActivityBar(page, 'Hangar Fixture');
    await treeItem(page, 'item-two').waitFor({ state: 'visible' });
    await contextMenu(page, 'item-two', 'Inspect');
    await clickNotificationButton(page, 'Inspected item-two', 'OK');
    await screenshot(page, 'smoke-fixture-tree');
  });

  it("runs an extension's integration suite in the extension host and reports its exit code", async () => {
    const env = { HANGAR_FIXTURE_GREETING: 'hi from runExtensionTests' };
    const ok = await runExtensionTests({
      extensionDevelopmentPath: FIXTURE,
      extensionTestsPath: path.join(FIXTURE, 'suite', 'index.js'),
      env,
      timeoutMs: 120_000,
    });
    assert.equal(ok.code, 0, ok.log);
    assert.match(ok.log, /1 passing/);
    assert.match(ok.log, /fixture: extension host on Node v24\./);

    const bad = await runExtensionTests({
      extensionDevelopmentPath: FIXTURE,
      extensionTestsPath: path.join(FIXTURE, 'suite', 'index.js'),
      env: { ...env, HANGAR_FIXTURE_FAIL: '1' },
      timeoutMs: 120_000,
    });
    assert.notEqual(bad.code, 0, bad.log);
    assert.match(bad.log, /1 failing/);
    assert.match(bad.log, /failing on purpose/);
  });
});

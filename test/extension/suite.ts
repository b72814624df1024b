// Integration tests inside the extension host, against a real hangard (URL/token from the environment) and
// a real Docker env it made. No mocks: the commands run as a user would trigger them.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Mocha from 'mocha';
import * as vscode from 'vscode';
import { COMMAND_IDS } from '../../extension/core/commandIds';
import type { HangarApi } from '../../extension/extension';

const { HANGAR_TEST_URL: url = '', HANGAR_TEST_TOKEN: token = '', HANGAR_TEST_ENV: envName = '' } = process.env;

async function until<T>(fn: () => T | undefined | Promise<T | undefined>, what: string, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export function suite(root: Mocha.Suite): void {
  const s = Mocha.Suite.create(root, 'Hangar extension (inside VS Code)');
  let api: HangarApi;

  s.addTest(
    new Mocha.Test('activates on its view and registers every contributed command', async () => {
      assert.ok(url && token && envName, 'HANGAR_TEST_URL, HANGAR_TEST_TOKEN and HANGAR_TEST_ENV are set');
      const ext = vscode.extensions.getExtension<HangarApi>('hangar-dev.hangar');
      assert.ok(ext, 'extension installed');
      await vscode.commands.executeCommand('workbench.view.extension.hangar');
      api = await ext.activate();

      console.log(`      activation: ${api.activationMs.toFixed(1)} ms`);
      const all = await vscode.commands.getCommands(true);
      for (const id of COMMAND_IDS) assert.ok(all.includes(id), id);
    }),
  );

  s.addTest(
    new Mocha.Test('connect stores the token in SecretStorage and the tree lists the real environment', async () => {
      await vscode.commands.executeCommand('hangar.connect', url, token);
      const g = await until(() => api.services.gateways.get(url), 'the gateway');
      const env = await until(() => g.environments.find((e) => e.name === envName), `env ${envName} in the tree`);
      assert.equal(env.status, 'running');
      const roots = await api.services.envTree.getChildren();
      const running = roots.find((n) => n.kind === 'group' && n.group.group === 'running');
      assert.ok(running);
      const item = (await api.services.envTree.getChildren(running)).find(
        (n) => n.kind === 'env' && n.env.name === envName,
      );
      assert.ok(item);
      assert.match(String(api.services.envTree.getTreeItem(item).contextValue), /^hangarEnv\+running\+ssh/);
      assert.equal(await api.services.context.secrets.get(`hangar.token:${url}`), token);
      // The bundled CLI's config (for ssh's ProxyCommand) has the token, readable by the user only.
      const cfg = path.join(api.services.cli.configDir, 'config.json');
      assert.equal(fs.statSync(cfg).mode & 0o777, 0o600);
    }),
  );

  s.addTest(
    new Mocha.Test("attach writes one managed block into remote.SSH.configFile, keeping the user's lines", async () => {
      // The runner put `remote.SSH.configFile` in the user settings (Remote-SSH, which registers it, isn't here).
      const file = vscode.workspace.getConfiguration('remote.SSH').get<string>('configFile')!;
      assert.ok(file, 'remote.SSH.configFile is set');
      const mine = '# my own config\nHost build\n  HostName 127.0.0.5\n  User me\n';
      fs.writeFileSync(file, mine, { mode: 0o640 });
      fs.chmodSync(file, 0o640);
      const g = api.services.gateways.get(url)!;
      const env = g.environments.find((e) => e.name === envName)!;
      const r = await vscode.commands.executeCommand<{ uri: string; configFile: string }>('hangar.attach', {
        gateway: g,
        env,
      });
      assert.equal(r.configFile, file);
      assert.match(r.uri, new RegExp(`^vscode-remote://ssh-remote\\+hangar\\.[^/]+--${envName}/home/hangar$`));
      const text = fs.readFileSync(file, 'utf8');
      assert.ok(text.startsWith(mine), 'user lines first, byte for byte');
      assert.equal(text.match(/# --- START HANGAR /g)?.length, 1);
      // The native proxy when the bundle carries one for this platform (dist/native), else the bundled Node CLI.
      assert.match(text, /ProxyCommand .*(hangar-proxy'?|hangar\.js) --config-dir .* proxy --url /);
      assert.equal(fs.statSync(file).mode & 0o777, 0o640);
      // Attaching again rewrites the block in place: still one.
      await vscode.commands.executeCommand('hangar.attach', { gateway: g, env });
      assert.equal(fs.readFileSync(file, 'utf8').match(/# --- START HANGAR /g)?.length, 1);
    }),
  );

  s.addTest(
    new Mocha.Test('stop and start from the commands the context menu runs', async () => {
      const g = api.services.gateways.get(url)!;
      const node = () => ({ kind: 'env' as const, gateway: g, env: g.environments.find((e) => e.name === envName)! });
      await vscode.commands.executeCommand('hangar.stop', node());
      await until(() => g.environments.find((e) => e.name === envName && e.status === 'stopped'), 'stopped');
      await vscode.commands.executeCommand('hangar.start', node());
      await until(() => g.environments.find((e) => e.name === envName && e.status === 'running'), 'running again');
    }),
  );

  s.addTest(
    new Mocha.Test('logout forgets the gateway and its token', async () => {
      await vscode.commands.executeCommand('hangar.logout', url);
      await until(() => api.services.gateways.all().length === 0 || undefined, 'no gateways');
      assert.equal(await api.services.context.secrets.get(`hangar.token:${url}`), undefined);
      const cfg = JSON.parse(fs.readFileSync(path.join(api.services.cli.configDir, 'config.json'), 'utf8'));
      assert.deepEqual(cfg.gateways, {});
    }),
  );
}

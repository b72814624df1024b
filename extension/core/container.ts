// Composition root of the extension: services built once and handed to commands, views and handlers.
import path from 'node:path';
import * as vscode from 'vscode';
import { nativeProxyPath } from '../../common/nativeProxy';
import { proxyCommand } from '../attach/remoteUri';
import { commandTable } from '../commands/index';
import { createStatusBar } from '../statusBar';
import { createStopWarnings } from '../stopWarnings';
import { GatewayManager } from '../gateways/manager';
import { GatewayStore } from '../gateways/store';
import { EnvironmentsProvider } from '../tree/environments';
import { GpusProvider, StorageProvider } from '../tree/resources';
import { DatasetsProvider } from '../tree/datasets';
import { createUriHandler } from '../uriHandler';
import { registerCommands } from './commands';
import { caFileSetting } from './settings';
import { ContextKeys } from './contextKeys';
import type { CliRuntime, Services } from './services';
import { REMOTE_SSH_EXTENSIONS } from '../attach/remoteUri';

function cliRuntime(context: vscode.ExtensionContext, configDir: string): CliRuntime {
  const script = context.asAbsolutePath(path.join('dist', 'hangar.js'));
  const custom = vscode.workspace.getConfiguration('hangar').get<string>('nodePath');
  const electron = !custom && Boolean(process.versions.electron);
  const execPath = custom || process.execPath;
  return {
    script,
    configDir,
    argv: [execPath, script, '--config-dir', configDir],
    env: electron ? { ELECTRON_RUN_AS_NODE: '1' } : {},
    proxyCommand: proxyCommand({
      execPath,
      electron,
      cliScript: script,
      configDir,
      platform: process.platform,
      nativeProxy: nativeProxyPath(context.asAbsolutePath('dist')),
    }),
  };
}

export async function compose(context: vscode.ExtensionContext): Promise<Services> {
  const log = vscode.window.createOutputChannel('Hangar', { log: true });
  const keys = new ContextKeys();
  // Each setContext is a round trip to the workbench: don't make activation wait for them.
  void keys.init();
  const store = new GatewayStore(context.secrets, path.join(context.globalStorageUri.fsPath, 'cli'), caFileSetting);
  const gateways = new GatewayManager(store);
  const envTree = new EnvironmentsProvider(gateways);
  const envView = vscode.window.createTreeView('hangar.environments', {
    treeDataProvider: envTree,
    canSelectMany: true,
    showCollapseAll: true,
  });
  const s: Services = { context, store, gateways, envTree, envView, log, cli: cliRuntime(context, store.cliDir) };

  const updateKeys = () => {
    const all = gateways.all();
    void keys.set('hangar.connected', all.length > 0);
    void keys.set('hangar.multipleGateways', all.length > 1);
    void keys.set(
      'hangar.hasEnvironments',
      all.some((g) => g.environments.length > 0),
    );
    void keys.set(
      'hangar.remoteSshInstalled',
      REMOTE_SSH_EXTENSIONS.some((id) => vscode.extensions.getExtension(id)),
    );
  };
  context.subscriptions.push(
    log,
    store,
    gateways,
    envTree,
    envView,
    vscode.window.registerTreeDataProvider('hangar.gpus', new GpusProvider(gateways)),
    vscode.window.registerTreeDataProvider('hangar.storage', new StorageProvider(gateways)),
    vscode.window.registerTreeDataProvider('hangar.datasets', new DatasetsProvider(gateways)),
    gateways.onDidChange(updateKeys),
    // Another CA file: the CLI config (ProxyCommand) and every connection follow.
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('hangar.caFile')) void store.syncCliConfig().then(() => gateways.reload());
    }),
    createStatusBar(gateways),
    createStopWarnings(gateways, log),
    vscode.window.registerUriHandler(createUriHandler(s)),
    ...registerCommands(commandTable(s), log),
  );
  // Gateways connect in the background: activation must not wait on the network.
  void gateways.reload().then(updateKeys);
  updateKeys();
  log.info(`Hangar activated; ${gateways.all().length} gateway(s); CLI ${s.cli.script}`);
  return s;
}

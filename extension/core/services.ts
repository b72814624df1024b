// What commands are given: built once in container.ts.
import type * as vscode from 'vscode';
import type { GatewayManager } from '../gateways/manager';
import type { GatewayStore } from '../gateways/store';
import type { EnvironmentsProvider, EnvNode } from '../tree/environments';

export interface CliRuntime {
  /** Bundled CLI script (dist/hangar.js). */
  script: string;
  /** The CLI's config dir in the extension's global storage (tokens 0600, SSH key, pinned host keys). */
  configDir: string;
  /** Program + leading args that run the CLI (Electron as Node inside desktop VS Code). */
  argv: string[];
  env: Record<string, string>;
  /** The same, as an ssh_config ProxyCommand prefix. */
  proxyCommand: string;
}

export interface Services {
  context: vscode.ExtensionContext;
  store: GatewayStore;
  gateways: GatewayManager;
  envTree: EnvironmentsProvider;
  envView: vscode.TreeView<EnvNode>;
  log: vscode.LogOutputChannel;
  cli: CliRuntime;
}

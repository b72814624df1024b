// Entry point: only wiring. Activation is lazy (views, commands, URI), never `*`.
import type * as vscode from 'vscode';
import { compose } from './core/container';
import type { Services } from './core/services';

export interface HangarApi {
  /** For the extension's own integration tests and for other extensions. */
  services: Services;
}

export async function activate(context: vscode.ExtensionContext): Promise<HangarApi> {
  return { services: await compose(context) };
}

export function deactivate(): void {
  // Everything is in context.subscriptions.
}

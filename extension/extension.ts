// Entry point: only wiring. Activation is lazy (views, commands, URI), never `*`.
import type * as vscode from 'vscode';
import { compose } from './core/container';
import type { Services } from './core/services';

export interface HangarApi {
  /** For the extension's own integration tests and for other extensions. */
  services: Services;
  /** Wall time of activate(), for the activation benchmark. */
  activationMs: number;
}

export async function activate(context: vscode.ExtensionContext): Promise<HangarApi> {
  const t0 = performance.now();
  const services = await compose(context);
  const activationMs = performance.now() - t0;
  services.log.info(`activated in ${activationMs.toFixed(1)} ms`);
  return { services, activationMs };
}

export function deactivate(): void {
  // Everything is in context.subscriptions.
}

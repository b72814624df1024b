// Every `setContext` key the extension uses, with its default: package.json's `when` clauses match these.
import * as vscode from 'vscode';

export const CONTEXT_KEYS = {
  'hangar.connected': false,
  'hangar.hasEnvironments': false,
  'hangar.multipleGateways': false,
  'hangar.remoteSshInstalled': false,
} as const;

export type ContextKey = keyof typeof CONTEXT_KEYS;

export class ContextKeys {
  private readonly values = new Map<ContextKey, unknown>();

  async init(): Promise<void> {
    await Promise.all((Object.keys(CONTEXT_KEYS) as ContextKey[]).map((k) => this.set(k, CONTEXT_KEYS[k])));
  }

  async set(key: ContextKey, value: boolean): Promise<void> {
    if (this.values.get(key) === value) return;
    this.values.set(key, value);
    await vscode.commands.executeCommand('setContext', key, value);
  }

  get(key: ContextKey): unknown {
    return this.values.get(key);
  }
}

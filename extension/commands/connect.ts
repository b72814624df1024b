// Connect to a gateway (URL + token, verified before it is stored) and log out (every window follows).
import * as vscode from 'vscode';
import { HangarClient } from '../../common/client';
import { ensureLocalKey } from '../../common/localKey';
import type { Services } from '../core/services';
import { normalizeUrl } from '../gateways/store';

export function validateGatewayUrl(v: string): string | undefined {
  try {
    const u = new URL(v.trim());
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return vscode.l10n.t('Use an http:// or https:// URL');
    return undefined;
  } catch {
    return vscode.l10n.t('Not a URL, e.g. https://hangar.example.com');
  }
}

export async function connect(s: Services, urlArg?: string, tokenArg?: string): Promise<string | undefined> {
  const url = urlArg ?? await vscode.window.showInputBox({
    title: vscode.l10n.t('Connect to a Hangar gateway (1/2)'), prompt: vscode.l10n.t('Gateway URL'),
    placeHolder: 'http://127.0.0.1:7420', ignoreFocusOut: true, validateInput: validateGatewayUrl,
  });
  if (!url) return undefined;
  const token = tokenArg ?? await vscode.window.showInputBox({
    title: vscode.l10n.t('Connect to a Hangar gateway (2/2)'), prompt: vscode.l10n.t('API token (hangar user create, or <data dir>/admin.token)'),
    password: true, ignoreFocusOut: true, validateInput: (v) => (v.trim() ? undefined : vscode.l10n.t('A token is required')),
  });
  if (!token) return undefined;
  const normalized = normalizeUrl(url);
  const user = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('Connecting to {0}…', normalized) }, async () => {
    const client = new HangarClient({ url: normalized, token: token.trim(), timeoutMs: 15_000 });
    const me = await client.me();
    // Our own SSH key, registered with the gateway, so attach needs nothing from the user.
    await ensureLocalKey(client, s.cli.configDir, `vscode-hangar@${vscode.env.machineId.slice(0, 8)}`);
    return me;
  });
  await s.store.add(normalized, token.trim());
  await s.gateways.reload();
  void vscode.window.showInformationMessage(vscode.l10n.t('Connected to {0} as {1}.', normalized, user.name));
  return normalized;
}

export async function logout(s: Services, arg?: unknown): Promise<void> {
  const urls = await s.store.list();
  let url = typeof arg === 'string' ? arg : (arg as { gateway?: { url: string } })?.gateway?.url;
  if (!url) {
    if (urls.length === 0) return;
    url = urls.length === 1 ? urls[0] : await vscode.window.showQuickPick(urls, { placeHolder: vscode.l10n.t('Log out of which gateway?') });
  }
  if (!url) return;
  await s.store.remove(url);
  await s.gateways.reload();
}

// "Open Desktop": noVNC in a webview panel (one per environment), connected through the gateway's WebSocket bridge.
// An env the gateway reaches only through JumpServer (jumpserver.required) gets JumpServer's web terminal instead.
import * as vscode from 'vscode';
import type { ConnectionInfo, Environment } from '../../common/model';
import { desktopHtml, nonce } from '../../webviews/html';
import type { FromDesktop, ToDesktop } from '../../webviews/protocol';
import type { GatewayConnection } from '../gateways/connection';

const panels = new Map<string, vscode.WebviewPanel>();

export async function openDesktopPanel(
  context: vscode.ExtensionContext,
  log: vscode.LogOutputChannel,
  gateway: GatewayConnection,
  env: Environment,
): Promise<vscode.WebviewPanel | undefined> {
  const key = `${gateway.url}#${env.id}`;
  const existing = panels.get(key);
  if (existing) {
    existing.reveal();
    return existing;
  }
  const conn = await gateway.client.connection(env.id);
  if (conn.direct_refused) return offerJumpServer(env, conn);
  if (!conn.vnc?.password)
    throw new Error(vscode.l10n.t('{0} has no desktop (environment_type desktop runs one).', env.name));
  const root = vscode.Uri.joinPath(context.extensionUri, 'dist', 'webviews');
  const panel = vscode.window.createWebviewPanel(
    'hangar.desktop',
    vscode.l10n.t('Desktop: {0}', env.name),
    vscode.ViewColumn.Active,
    {
      enableScripts: true,
      retainContextWhenHidden: true,
      localResourceRoots: [root],
    },
  );
  panels.set(key, panel);
  const wsOrigin = gateway.url.replace(/^http/, 'ws');
  panel.webview.html = desktopHtml({
    scriptUri: panel.webview.asWebviewUri(vscode.Uri.joinPath(root, 'desktop.js')).toString(),
    cspSource: panel.webview.cspSource,
    nonce: nonce(),
    connectSrc: wsOrigin,
    title: env.name,
  });
  const post = (m: ToDesktop) => void panel.webview.postMessage(m);
  const handlers: { [K in FromDesktop['type']]: (m: Extract<FromDesktop, { type: K }>) => void | Thenable<void> } = {
    ready: () =>
      post({
        type: 'connect',
        wsUrl: `${wsOrigin}${conn.vnc!.websocket_path}`,
        token: gateway.client.token!,
        password: conn.vnc!.password!,
        name: env.name,
      }),
    status: (m) => log.info(`desktop ${env.name}: ${m.state}${m.detail ? ` (${m.detail})` : ''}`),
    clipboard: (m) => vscode.env.clipboard.writeText(m.text),
  };
  const subs = [
    panel.webview.onDidReceiveMessage((m: FromDesktop) => (handlers[m.type] as (x: FromDesktop) => void)?.(m)),
    // Text copied in VS Code reaches the remote desktop's clipboard when the panel gets focus. In a browser
    // (code-server, vscode.dev) reading the clipboard needs a permission prompt each time: leave it to the user there.
    panel.onDidChangeViewState(async (e) => {
      if (e.webviewPanel.active && vscode.env.uiKind === vscode.UIKind.Desktop)
        post({ type: 'clipboard', text: await vscode.env.clipboard.readText() });
    }),
  ];
  panel.onDidDispose(() => {
    panels.delete(key);
    subs.forEach((s) => s.dispose());
  });
  return panel;
}

/** The direct bridge is refused: offer Luna (JumpServer's web terminal, VNC through Lion) at the env's asset. */
async function offerJumpServer(env: Environment, conn: ConnectionInfo): Promise<undefined> {
  const url = conn.jumpserver?.web_url;
  if (!url)
    throw new Error(
      vscode.l10n.t('{0} is reached through JumpServer only, and is not registered there yet.', env.name),
    );
  const open = vscode.l10n.t('Open in JumpServer');
  const choice = await vscode.window.showInformationMessage(
    vscode.l10n.t('The desktop of {0} is reached through JumpServer only: open its web terminal ({1})?', env.name, url),
    open,
  );
  if (choice === open) await vscode.env.openExternal(vscode.Uri.parse(url));
  return undefined;
}

// Connected gateway(s) and the number of running environments; a click focuses the Hangar view.
import * as vscode from 'vscode';
import type { GatewayManager } from './gateways/manager';

export function statusText(gateways: { url: string; running: number; ok: boolean }[]): {
  text: string;
  tooltip: string;
} {
  if (gateways.length === 0)
    return { text: '$(server-environment) Hangar: not connected', tooltip: 'Connect to a Hangar gateway' };
  const running = gateways.reduce((n, g) => n + g.running, 0);
  const down = gateways.filter((g) => !g.ok).length;
  const where = gateways.length === 1 ? new URL(gateways[0].url).host : `${gateways.length} gateways`;
  return {
    text: `$(server-environment) ${where} · ${running} running${down ? ` $(warning) ${down}` : ''}`,
    tooltip: gateways.map((g) => `${g.url}: ${g.ok ? `${g.running} running` : 'unreachable'}`).join('\n'),
  };
}

export function createStatusBar(gateways: GatewayManager): vscode.Disposable {
  const item = vscode.window.createStatusBarItem('hangar.status', vscode.StatusBarAlignment.Left, 50);
  item.name = 'Hangar';
  item.command = 'workbench.view.extension.hangar';
  const update = () => {
    const s = statusText(
      gateways.all().map((g) => ({
        url: g.url,
        running: g.environments.filter((e) => e.status === 'running').length,
        ok: g.state.kind !== 'error',
      })),
    );
    item.text = s.text;
    item.tooltip = s.tooltip;
    item.show();
  };
  update();
  const sub = gateways.onDidChange(update);
  return vscode.Disposable.from(item, sub);
}

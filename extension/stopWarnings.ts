// ~10 minutes before an automatic stop: a warning with "Extend" (2 hours more through the gateway).
import * as vscode from 'vscode';
import type { GatewayManager } from './gateways/manager';
import { StopWarnings, warningText } from './lifecycleWarnings';

export function createStopWarnings(gateways: GatewayManager, log: vscode.LogOutputChannel): vscode.Disposable {
  const warnings = new StopWarnings();
  const check = () => {
    const now = Date.now();
    for (const g of gateways.all())
      for (const e of warnings.due(g.environments, now)) {
        const extend = vscode.l10n.t('Extend');
        void vscode.window.showWarningMessage(warningText(e, now), extend).then(async (pick) => {
          if (pick !== extend) return;
          try {
            await g.client.extend(e.id, 120);
            await gateways.refreshAll();
          } catch (err) {
            log.error(`extend ${e.name}: ${(err as Error).message}`);
            void vscode.window.showErrorMessage((err as Error).message);
          }
        });
      }
  };
  const timer = setInterval(check, 30_000);
  const sub = gateways.onDidChange(check);
  return { dispose: () => (clearInterval(timer), sub.dispose()) };
}

// vscode://hangar-dev.hangar/open?env=<name|id>&gateway=<url>: a web page opens an environment in VS Code.
import * as vscode from 'vscode';
import type { Services } from './core/services';
import { attach } from './commands/attach';
import { connect } from './commands/connect';

export function parseOpenUri(uri: {
  path: string;
  query: string;
}): { env: string; gateway?: string } | { error: string } {
  if (uri.path !== '/open') return { error: `unknown path ${uri.path} (expected /open)` };
  const q = new URLSearchParams(uri.query);
  const env = q.get('env');
  if (!env) return { error: 'the link has no env parameter' };
  return { env, gateway: q.get('gateway') ?? undefined };
}

export function createUriHandler(s: Services): vscode.UriHandler {
  return {
    async handleUri(uri) {
      const p = parseOpenUri(uri);
      if ('error' in p) {
        void vscode.window.showErrorMessage(`Hangar: ${p.error}`);
        return;
      }
      const gw = p.gateway?.replace(/\/+$/, '');
      if (gw && !s.gateways.get(gw)) {
        const go = vscode.l10n.t('Connect');
        if (
          (await vscode.window.showInformationMessage(vscode.l10n.t('Connect to {0} to open {1}?', gw, p.env), go)) !==
          go
        )
          return;
        if (!(await connect(s, gw))) return;
      }
      await Promise.all(s.gateways.all().map((g) => g.refresh()));
      const ref = s.gateways.find(p.env, gw);
      if (!ref) {
        void vscode.window.showErrorMessage(vscode.l10n.t('Hangar: environment {0} not found.', p.env));
        return;
      }
      await attach(s, ref);
    },
  };
}

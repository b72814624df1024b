// Hangar: Show Audit Trail (admin): the gateway's audit trail as a read-only document (a content provider: nothing
// to edit or save, no webview to secure).
import * as vscode from 'vscode';
import { ApiError } from '../../common/client';
import { auditDocument } from '../audit/format';
import type { Services } from '../core/services';

const SCHEME = 'hangar-audit';
const docs = new Map<string, string>();
let registered = false;

export async function showAuditLog(s: Services): Promise<void> {
  const gateways = s.gateways.all();
  if (gateways.length === 0) {
    void vscode.window.showInformationMessage(vscode.l10n.t('Connect to a gateway first.'));
    return;
  }
  const g =
    gateways.length === 1
      ? gateways[0]
      : (
          await vscode.window.showQuickPick(
            gateways.map((x) => ({ label: x.url, g: x })),
            { placeHolder: vscode.l10n.t('Audit trail of which gateway?') },
          )
        )?.g;
  if (!g) return;
  let text: string;
  try {
    const page = await g.client.audit({ limit: 1000 });
    text = auditDocument(g.url, page.entries, page.next_cursor !== null);
  } catch (err) {
    if (err instanceof ApiError && err.status === 403)
      throw new Error(vscode.l10n.t('The audit trail of {0} is for admins.', g.url), { cause: err });
    throw err;
  }
  if (!registered) {
    registered = true;
    s.context.subscriptions.push(
      vscode.workspace.registerTextDocumentContentProvider(SCHEME, {
        provideTextDocumentContent: (u) => docs.get(u.path) ?? '',
      }),
    );
  }
  const path = `/${encodeURIComponent(new URL(g.url).host)}/audit-${Date.now()}.log`;
  docs.set(path, text);
  const doc = await vscode.workspace.openTextDocument(vscode.Uri.from({ scheme: SCHEME, path }));
  await vscode.window.showTextDocument(doc, { preview: false });
}

// The Storage view's commands: create a volume, delete one, and "Mount in a new environment" (the create flow with
// the mount pre-filled). Rows come from tree/storageModel.ts; the gateway's URL travels with each row.
import * as vscode from 'vscode';
import type { Services } from '../core/services';
import type { GatewayConnection } from '../gateways/connection';
import type { StorageRow } from '../tree/storageModel';

type Row = StorageRow & { gateway?: string };

async function gatewayOf(s: Services, row?: Row): Promise<GatewayConnection | undefined> {
  const all = s.gateways.all();
  if (row?.gateway) return all.find((g) => g.url === row.gateway);
  if (all.length <= 1) return all[0];
  return (
    await vscode.window.showQuickPick(
      all.map((g) => ({ label: g.url, g })),
      { placeHolder: vscode.l10n.t('On which gateway?') },
    )
  )?.g;
}

export async function createVolume(s: Services, row?: Row): Promise<void> {
  const g = await gatewayOf(s, row);
  if (!g) return;
  const name = await vscode.window.showInputBox({
    prompt: vscode.l10n.t('Volume name (letters, digits, "_", "." and "-")'),
    validateInput: (v) =>
      /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(v) ? undefined : vscode.l10n.t('Not a volume name'),
  });
  if (!name) return;
  const backends = (await g.client.backends()).filter((b) => b.available);
  const backend =
    backends.length <= 1
      ? backends[0]?.id
      : (await vscode.window.showQuickPick(backends.map((b) => ({ label: b.id, description: b.kind }))))?.label;
  if (!backend) return;
  const size = await vscode.window.showInputBox({
    prompt: vscode.l10n.t('Size in GB (empty: the backend decides)'),
    validateInput: (v) => (v === '' || /^[1-9]\d{0,4}$/.test(v) ? undefined : vscode.l10n.t('A whole number of GB')),
  });
  if (size === undefined) return;
  await g.client.createVolume({ name, backend_id: backend, ...(size ? { size_gb: Number(size) } : {}) });
  await g.refresh();
}

export async function deleteVolume(s: Services, row?: Row): Promise<void> {
  const g = await gatewayOf(s, row);
  if (!g || !row?.mount?.volume_id) return;
  const yes = vscode.l10n.t('Delete');
  const ok = await vscode.window.showWarningMessage(
    vscode.l10n.t('Delete volume {0} and its data?', row.label),
    { modal: true },
    yes,
  );
  if (ok !== yes) return;
  await g.client.deleteVolume(row.mount.volume_id);
  await g.refresh();
}

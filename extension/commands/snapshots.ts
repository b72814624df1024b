// VM snapshots from the tree: take one (env or its Snapshots node), revert to one, delete one.
import * as vscode from 'vscode';
import type { Snapshot } from '../../common/model';
import type { EnvRef } from '../gateways/manager';
import type { Services } from '../core/services';
import { withCancellableProgress } from '../core/progress';
import { targets } from './targets';

type SnapshotArg = EnvRef & { snapshot: Snapshot };
const isSnapshotArg = (x: unknown): x is SnapshotArg =>
  typeof x === 'object' && x !== null && 'snapshot' in x && 'env' in x && 'gateway' in x;

export async function createSnapshot(s: Services, arg?: unknown): Promise<void> {
  const [ref] = await targets(s, arg, undefined, {
    statuses: ['running', 'stopped'],
    placeholder: vscode.l10n.t('Snapshot of…'),
  });
  if (!ref) return;
  const name = await vscode.window.showInputBox({
    prompt: vscode.l10n.t('Snapshot name'),
    value: `snap-${new Date().toISOString().slice(0, 16).replace(/[-:T]/g, '')}`,
    validateInput: (v) =>
      /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(v)
        ? undefined
        : vscode.l10n.t('Letters, digits, ".", "_" and "-" (up to 63)'),
  });
  if (!name) return;
  const description = await vscode.window.showInputBox({ prompt: vscode.l10n.t('Description (optional)') });
  if (description === undefined) return;
  const r = await withCancellableProgress(vscode.l10n.t('Taking snapshot {0} of {1}', name, ref.env.name), (signal) =>
    ref.gateway.client.createSnapshot(ref.env.id, name, description || undefined, signal),
  );
  if (!r.ok && !r.cancelled) throw r.error;
  s.envTree.refresh();
}

export async function revertSnapshot(s: Services, arg?: unknown): Promise<void> {
  if (!isSnapshotArg(arg)) return;
  const yes = vscode.l10n.t('Revert');
  const answer = await vscode.window.showWarningMessage(
    vscode.l10n.t('Revert {0} to snapshot {1}? Changes made since then are lost.', arg.env.name, arg.snapshot.name),
    { modal: true },
    yes,
  );
  if (answer !== yes) return;
  const r = await withCancellableProgress(
    vscode.l10n.t('Reverting {0} to {1}', arg.env.name, arg.snapshot.name),
    (signal) => arg.gateway.client.revertSnapshot(arg.env.id, arg.snapshot.name, signal),
  );
  if (!r.ok && !r.cancelled) throw r.error;
  await arg.gateway.refresh();
  s.envTree.refresh();
}

export async function deleteSnapshot(s: Services, arg?: unknown): Promise<void> {
  if (!isSnapshotArg(arg)) return;
  const yes = vscode.l10n.t('Delete');
  if (
    (await vscode.window.showWarningMessage(
      vscode.l10n.t('Delete snapshot {0} of {1}?', arg.snapshot.name, arg.env.name),
      { modal: true },
      yes,
    )) !== yes
  )
    return;
  await arg.gateway.client.deleteSnapshot(arg.env.id, arg.snapshot.name);
  s.envTree.refresh();
}

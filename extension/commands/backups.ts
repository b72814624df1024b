// Backups from the trees: "Back up now" and "Restore from backup…" on an env (its node, its Backups node or one of
// its backups) or on a scheduled volume's Backups row in the Storage view; from the palette, an env is picked.
// Texts and picks come from tree/backupModel.ts (plain, unit-tested); this file only talks to VS Code.
import * as vscode from 'vscode';
import type { Environment } from '../../common/model';
import type { Backup } from '../../common/snapshots';
import type { Services } from '../core/services';
import type { GatewayConnection } from '../gateways/connection';
import { backupPicks, backupStatusText, backupWhen, restorePlan } from '../tree/backupModel';
import { targets } from './targets';

type Target =
  | { gateway: GatewayConnection; kind: 'environment'; env: Environment; name: string; backup?: Backup }
  | { gateway: GatewayConnection; kind: 'volume'; volumeId: string; name: string; backup?: Backup };

const query = (t: Target) => (t.kind === 'environment' ? { environment: t.env.id } : { volume: t.volumeId });

/** The env or volume a tree node stands for (with the backup when it is a backup row); a pick from the palette. */
async function targetOf(s: Services, arg: unknown, placeholder: string): Promise<Target | undefined> {
  const a = (arg ?? {}) as {
    gateway?: unknown;
    env?: Environment;
    row?: { backup?: Backup };
    backup?: Backup;
    backupsOf?: { volume_id: string; name: string };
    volume?: { volume_id: string; name: string };
  };
  const vol = a.backupsOf ?? a.volume;
  if (vol && typeof a.gateway === 'string') {
    const gateway = s.gateways.all().find((g) => g.url === a.gateway);
    return gateway && { gateway, kind: 'volume', volumeId: vol.volume_id, name: vol.name, backup: a.backup };
  }
  const [ref] = await targets(s, a.env ? { gateway: a.gateway, env: a.env } : arg, undefined, { placeholder });
  return ref && { gateway: ref.gateway, kind: 'environment', env: ref.env, name: ref.env.name, backup: a.row?.backup };
}

async function redraw(s: Services, g: GatewayConnection): Promise<void> {
  await g.refresh();
  s.envTree.refresh();
}

export async function backupNow(s: Services, arg?: unknown): Promise<void> {
  const t = await targetOf(s, arg, vscode.l10n.t('Back up which environment?'));
  if (!t) return;
  try {
    const b = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('Backing up {0}…', t.name) },
      () => t.gateway.client.runBackup(query(t)),
    );
    void vscode.window.showInformationMessage(
      vscode.l10n.t('Backup of {0}: {1}', t.name, backupStatusText(b, vscode.l10n.t)),
    );
  } finally {
    // A failed run is listed too (with its reason).
    await redraw(s, t.gateway);
  }
}

export async function restoreFromBackup(s: Services, arg?: unknown): Promise<void> {
  const t = await targetOf(s, arg, vscode.l10n.t('Restore which environment?'));
  if (!t) return;
  const b = t.backup?.status === 'complete' ? t.backup : await pickBackup(t);
  if (!b) return;
  const env = t.kind === 'environment' ? (t.gateway.environments.find((e) => e.id === t.env.id) ?? t.env) : undefined;
  const plan = restorePlan({ kind: t.kind, name: t.name, status: env?.status }, b, vscode.l10n.t);
  if ((await vscode.window.showWarningMessage(plan.message, { modal: true }, plan.confirm)) !== plan.confirm) return;
  await restoreWithProgress(t, b, env, plan.stopFirst).finally(() => redraw(s, t.gateway));
  void vscode.window.showInformationMessage(
    vscode.l10n.t('Restored {0} from the backup of {1}.', t.name, backupWhen(b)),
  );
}

/** Stops a running env first and starts it again after (also when the restore was refused: nothing changed then). */
async function restoreWithProgress(t: Target, b: Backup, env: Environment | undefined, stopFirst: boolean) {
  const c = t.gateway.client;
  await vscode.window.withProgress(
    {
      location: vscode.ProgressLocation.Notification,
      title: vscode.l10n.t('Restoring {0} from the backup of {1}', t.name, backupWhen(b)),
    },
    async (progress) => {
      if (env && stopFirst) {
        progress.report({ message: vscode.l10n.t('stopping {0}', env.name) });
        await c.action(env.id, 'stop');
        await c.waitFor(env.id, ['stopped'], { timeoutMs: 180_000 });
      }
      progress.report({ message: vscode.l10n.t('putting the data back') });
      const failed = await c.restoreBackup(b.id).then(
        () => undefined,
        (err: unknown) => ({ err }),
      );
      // The restore's own error is the one shown.
      if (env && stopFirst) {
        progress.report({ message: vscode.l10n.t('starting {0}', env.name) });
        const start = (async () => {
          await c.action(env.id, 'start');
          await c.waitFor(env.id, ['running'], { timeoutMs: 300_000 });
        })();
        await (failed ? start.catch(() => undefined) : start);
      }
      if (failed) throw failed.err;
    },
  );
}

async function pickBackup(t: Target): Promise<Backup | undefined> {
  const picks = backupPicks(await t.gateway.client.backups(query(t)), vscode.l10n.t);
  if (picks.length === 0) {
    void vscode.window.showInformationMessage(vscode.l10n.t('{0} has no complete backup to restore.', t.name));
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(picks, {
    placeHolder: vscode.l10n.t('Restore {0} from which backup?', t.name),
    matchOnDescription: true,
  });
  return picked?.backup;
}

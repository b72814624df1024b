// Backups as rows of the trees and picks of "Restore from backup…", and what a restore has to do around the env:
// pure (no vscode import), so plain mocha tests it. `t` localizes (vscode.l10n.t in the views).
import type { EnvStatus } from '../../common/model';
import type { Backup, BackupSchedule } from '../../common/snapshots';
import { bytesText } from './datasetModel';
import { plain, type Translate } from './storageModel';

/** A restore needs the env at rest (the gateway answers 409 otherwise): these it restores as they are. */
const AT_REST: EnvStatus[] = ['stopped', 'failed', 'missing'];

export interface BackupRow {
  label: string;
  description: string;
  tooltip: string;
  icon: string;
  /** contextValue: `hangarBackup+<status>` (only a complete one offers "Restore this backup"). */
  context: string;
  backup: Backup;
}

/** "2030-03-01 19:00 UTC": when the backup started. */
export const backupWhen = (b: Pick<Backup, 'started_at'>) => `${b.started_at.replace('T', ' ').slice(0, 16)} UTC`;

/** "complete · 1.2 MiB · scheduled", "failed: <reason>", "running". */
export function backupStatusText(b: Backup, t: Translate = plain): string {
  if (b.status === 'failed') return t('failed: {0}', b.message ?? t('no reason given'));
  if (b.status === 'running') return t('running');
  // Kubernetes backups are VolumeSnapshots in the cluster: they have no size the gateway counted.
  const size = b.items.every((i) => i.kind === 'volume_snapshot') ? t('VolumeSnapshots') : bytesText(b.size_bytes);
  return [t('complete'), size, b.trigger === 'schedule' ? t('scheduled') : t('manual')].join(' · ');
}

const ICON: Record<Backup['status'], string> = { complete: 'pass', failed: 'error', running: 'loading~spin' };

/** Newest first (as the gateway lists them); the first is labelled as the last backup. At most `max` rows. */
export function backupRows(list: Backup[], t: Translate = plain, max = 20): BackupRow[] {
  const sorted = [...list].sort((a, b) => b.started_at.localeCompare(a.started_at));
  return sorted.slice(0, max).map((b, i) => ({
    label: i === 0 ? t('Last backup: {0}', backupWhen(b)) : backupWhen(b),
    description: backupStatusText(b, t),
    tooltip: [
      `${backupWhen(b)} — ${backupStatusText(b, t)}`,
      ...b.items.map(
        (x) =>
          `${x.item === 'home' ? (x.path ?? 'home') : x.item}: ${x.kind === 'volume_snapshot' ? t('VolumeSnapshot') : bytesText(x.size_bytes)}`,
      ),
      t('store: {0}', b.store),
    ].join('\n'),
    icon: ICON[b.status],
    context: `hangarBackup+${b.status}`,
    backup: b,
  }));
}

/** What a Backups node shows when the list is empty: whether a schedule will make one. */
export function noBackupsText(schedule: BackupSchedule | undefined, t: Translate = plain): string {
  if (!schedule) return t('No backups (no schedule)');
  return schedule.next_run_at
    ? t('No backups yet: next at {0}', backupWhen({ started_at: schedule.next_run_at }))
    : t('No backups yet (schedule disabled)');
}

export interface BackupPick {
  label: string;
  description: string;
  detail: string;
  backup: Backup;
}

/** The QuickPick of "Restore from backup…": complete backups only, newest first (time, size, status, what it holds). */
export function backupPicks(list: Backup[], t: Translate = plain): BackupPick[] {
  return backupRows(
    list.filter((b) => b.status === 'complete'),
    t,
    Number.MAX_SAFE_INTEGER,
  ).map((r) => ({
    label: backupWhen(r.backup),
    description: r.description,
    detail: r.backup.items.map((x) => (x.item === 'home' ? (x.path ?? 'home') : x.item)).join(', '),
    backup: r.backup,
  }));
}

export interface RestorePlan {
  /** The env runs: it is stopped first and started again after. */
  stopFirst: boolean;
  message: string;
  confirm: string;
}

/** The modal's text and button: a restore replaces the data; a running env is stopped for it (and started after). */
export function restorePlan(
  target: { kind: 'environment' | 'volume'; name: string; status?: EnvStatus },
  b: Backup,
  t: Translate = plain,
): RestorePlan {
  const stopFirst = target.kind === 'environment' && !AT_REST.includes(target.status ?? 'stopped');
  const what =
    target.kind === 'environment'
      ? t("Its home directory and volumes are replaced by the backup's: files made or changed since then are lost.")
      : t("Its content is replaced by the backup's: files made or changed since then are lost.");
  const ask =
    target.kind === 'environment'
      ? t('Restore {0} from the backup of {1}?', target.name, backupWhen(b))
      : t('Restore volume {0} from the backup of {1}?', target.name, backupWhen(b));
  const stop = stopFirst
    ? [t('{0} is {1}: it is stopped for the restore and started again after.', target.name, target.status!)]
    : [];
  return {
    stopFirst,
    message: [ask, what, ...stop].join(' '),
    confirm: stopFirst ? t('Stop and Restore') : t('Restore'),
  };
}

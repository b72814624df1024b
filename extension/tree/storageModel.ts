// Storage view as plain data (no vscode import), from GET /storage (what the user may mount: volumes with who mounts
// them, shares, host paths) and the environments' own mounts (which env mounts a share or host path, and where).
// `t` localizes (vscode.l10n.t in the view; the identity with {0} placeholders in tests).
import type { Environment, Mount, StorageOverview } from '../../common/model';
import type { BackupSchedule } from '../../common/snapshots';

export interface StorageRow {
  label: string;
  description?: string;
  tooltip?: string;
  icon: string;
  /** contextValue: what the row's menu offers (volume: delete, mount in a new env; share/host_path: mount;
   *  volumeBackups: back up now, restore from backup). */
  context?: 'volume' | 'share' | 'host_path' | 'section' | 'volumeBackups';
  /** For the commands: the object's kind and name (volumes by id: id:<id>). */
  mount?: { type: 'volume' | 'share' | 'host_path'; source: string; backend_id?: string; volume_id?: string };
  children?: StorageRow[];
  /** A volume's Backups row (it has a schedule): its backups are fetched when it opens. */
  backupsOf?: { volume_id: string; name: string };
}

export type Translate = (message: string, ...args: (string | number)[]) => string;
export const plain: Translate = (m, ...args) => m.replace(/\{(\d+)\}/g, (_, i) => String(args[Number(i)]));

/** "env:/target (ro)" for every env mounting what `match` says. */
function mountsOf(envs: Environment[], match: (m: { type: string; source: string; volume_id?: string }) => boolean) {
  return envs.flatMap((e) =>
    (e.storage_config?.mounts ?? []).filter(match).map((m) => `${e.name}:${m.target}${m.read_only ? ' (ro)' : ''}`),
  );
}

/** A scheduled volume's Backups row: the schedule as its description, the backups fetched when opened. */
function backupsRow(v: { id: string; name: string }, schedules: BackupSchedule[], t: Translate): StorageRow[] {
  const s = schedules.find((x) => x.target_kind === 'volume' && x.target_id === v.id);
  if (!s) return [];
  const desc = `${s.cron} (${s.timezone}), ${t('keep {0}', s.keep)}${s.enabled ? '' : ` · ${t('disabled')}`}`;
  return [
    {
      label: t('Backups'),
      description: desc,
      icon: 'archive',
      context: 'volumeBackups',
      backupsOf: { volume_id: v.id, name: v.name },
    },
  ];
}

export function storageRows(
  overview: StorageOverview,
  envs: Environment[],
  t: Translate = plain,
  schedules: BackupSchedule[] = [],
): StorageRow[] {
  const by = (list: string[]) => (list.length ? t('mounted by {0}', list.join(', ')) : t('not mounted'));
  const volumes = overview.volumes.map((v): StorageRow => {
    const where = mountsOf(envs, (m) => m.type === 'volume' && m.volume_id === v.id);
    const who = where.length ? where : (v.mounted_by ?? []).map((e) => e.name);
    return {
      label: v.team ? `${v.team}/${v.name}` : v.name,
      description: [v.size_gb ? `${v.size_gb} GiB` : '', v.backend_id, by(who)].filter(Boolean).join(' · '),
      tooltip: `${v.backend_name}\n${t('created {0}', v.created_at)}`,
      icon: 'database',
      context: 'volume',
      mount: { type: 'volume', source: `id:${v.id}`, backend_id: v.backend_id, volume_id: v.id },
      ...(schedules.length ? { children: backupsRow(v, schedules, t) } : {}),
    };
  });
  const shares = overview.shares.map((s): StorageRow => ({
    label: s.name,
    description: [
      s.kind.toUpperCase(),
      s.read_only ? t('read-only') : '',
      s.sub_directories === 'per_user' ? t('a directory per user') : '',
      s.sub_directories === 'per_env' ? t('a directory per environment') : '',
      by(mountsOf(envs, (m) => m.type === 'share' && m.source === s.name)),
    ]
      .filter(Boolean)
      .join(' · '),
    icon: 'remote',
    context: 'share',
    mount: { type: 'share', source: s.name },
  }));
  const hostPaths = overview.host_paths.map((h): StorageRow => ({
    label: h.name,
    description: [
      h.read_only ? t('read-only') : '',
      by(mountsOf(envs, (m) => m.type === 'host_path' && m.source === h.name)),
    ]
      .filter(Boolean)
      .join(' · '),
    icon: 'folder',
    context: 'host_path',
    mount: { type: 'host_path', source: h.name },
  }));
  const section = (label: string, icon: string, children: StorageRow[]): StorageRow[] =>
    children.length ? [{ label, icon, context: 'section', description: String(children.length), children }] : [];
  return [
    ...section(t('Volumes'), 'database', volumes),
    ...section(t('Shares'), 'remote', shares),
    ...section(t('Host paths'), 'folder', hostPaths),
  ];
}

/** What "Mount in a new environment" pre-fills in the create flow: one mount at a default target. */
export function mountPrefill(row: StorageRow): { mount: NonNullable<StorageRow['mount']>; target: string } | undefined {
  if (!row.mount) return undefined;
  const name = row.label
    .split('/')
    .pop()!
    .replace(/[^A-Za-z0-9_.-]/g, '-');
  return { mount: row.mount, target: row.mount.type === 'volume' ? `/data/${name}` : `/mnt/${name}` };
}

/** The create flow's answers that "Mount in a new environment" fills in (a share needs storage_type nfs). */
export function mountAnswers(
  row: StorageRow,
): { mounts: Mount[]; storage_type?: string; backend_id?: string } | undefined {
  const p = mountPrefill(row);
  if (!p) return undefined;
  return {
    mounts: [{ type: p.mount.type, source: p.mount.source, target: p.target }],
    ...(p.mount.type === 'share' ? { storage_type: 'nfs' } : {}),
    ...(p.mount.backend_id ? { backend_id: p.mount.backend_id } : {}),
  };
}

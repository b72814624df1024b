// The GPUs view (the gateway's inventory: per host, each GPU with model, memory, free units and holders) and the
// Storage view (the volumes and host paths environments mount).
import * as vscode from 'vscode';
import type { Environment, GpuInfo, StorageOverview } from '../../common/model';
import type { Backup, BackupSchedule } from '../../common/snapshots';
import { backupRows } from './backupModel';
import { gpuRows } from './gpuModel';
import { storageRows, type StorageRow } from './storageModel';
import type { GatewayManager } from '../gateways/manager';

interface Row {
  label: string;
  description?: string;
  tooltip?: string;
  icon: string;
  children?: Row[];
  /** contextValue (the Storage view's menus) and what its commands act on. */
  context?: string;
  mount?: StorageRow['mount'];
  gateway?: string;
  /** Children fetched when the row opens (a volume's backups). */
  backupsOf?: StorageRow['backupsOf'];
  /** A backup row of the volume `volume`. */
  backup?: Backup;
  volume?: StorageRow['backupsOf'];
}
type Source = {
  url: string;
  environments: Environment[];
  gpus: GpuInfo[];
  storage?: StorageOverview;
  backupSchedules?: BackupSchedule[];
};

abstract class RowsProvider implements vscode.TreeDataProvider<Row>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.emitter.event;
  private readonly sub: vscode.Disposable;
  constructor(protected readonly gateways: GatewayManager) {
    this.sub = gateways.onDidChange(() => this.emitter.fire());
  }
  protected abstract rows(g: Source): Row[];
  getChildren(row?: Row): Row[] | Promise<Row[]> {
    if (row) return row.children ?? [];
    const all = this.gateways.all();
    if (all.length <= 1) return all[0] ? this.rows(all[0]) : [];
    return all.map((g) => ({ label: g.url, icon: 'cloud', children: this.rows(g) }));
  }
  getTreeItem(row: Row): vscode.TreeItem {
    const item = new vscode.TreeItem(
      row.label,
      row.backupsOf
        ? vscode.TreeItemCollapsibleState.Collapsed
        : row.children?.length
          ? vscode.TreeItemCollapsibleState.Expanded
          : vscode.TreeItemCollapsibleState.None,
    );
    item.description = row.description;
    item.tooltip = row.tooltip ?? row.description;
    item.iconPath = new vscode.ThemeIcon(row.icon);
    item.contextValue = row.context;
    return item;
  }
  dispose(): void {
    this.sub.dispose();
    this.emitter.dispose();
  }
}

export class GpusProvider extends RowsProvider {
  protected rows({ gpus }: Source): Row[] {
    return gpuRows(gpus).map((host) => ({
      label: host.label,
      description: host.description,
      icon: 'server',
      children: host.gpus.map((g) => ({
        label: g.label,
        description: g.description,
        tooltip: g.tooltip,
        icon: g.icon,
        children: g.children?.map((c) => ({ ...c, icon: 'symbol-misc' })),
      })),
    }));
  }
}

export class StorageProvider extends RowsProvider {
  protected rows(g: Source): Row[] {
    const tag = (r: StorageRow): Row => ({ ...r, gateway: g.url, children: r.children?.map(tag) });
    if (g.storage) return storageRows(g.storage, g.environments, vscode.l10n.t, g.backupSchedules).map(tag);
    return this.fromMounts(g.environments);
  }

  override getChildren(row?: Row): Row[] | Promise<Row[]> {
    return row?.backupsOf ? this.backups(row) : super.getChildren(row);
  }

  /** A scheduled volume's backups, newest (the last one) first. */
  private async backups(row: Row): Promise<Row[]> {
    const g = this.gateways.all().find((x) => x.url === row.gateway);
    if (!g || !row.backupsOf) return [];
    try {
      const rows = backupRows(await g.client.backups({ volume: row.backupsOf.volume_id }), vscode.l10n.t);
      if (rows.length === 0) return [{ label: vscode.l10n.t('No backups yet'), icon: 'info' }];
      return rows.map((r) => ({ ...r, gateway: g.url, backupsOf: undefined, volume: row.backupsOf }));
    } catch (err) {
      return [{ label: (err as Error).message, icon: 'warning' }];
    }
  }

  /** A gateway without GET /storage: what its environments mount. */
  private fromMounts(envs: Environment[]): Row[] {
    const users = new Map<string, { type: string; source: string; envs: string[] }>();
    for (const e of envs) {
      for (const m of e.storage_config?.mounts ?? []) {
        // One row per volume (two users' "data" are two volumes) or per host_paths entry.
        const key = m.volume_id ?? `${e.backend_id}:${m.type}:${m.source}`;
        const u = users.get(key) ?? { type: m.type, source: m.source, envs: [] };
        u.envs.push(`${e.name}:${m.target}${m.read_only ? ' (ro)' : ''}`);
        users.set(key, u);
      }
    }
    return [...users.values()].map((u) => ({
      label: u.source,
      description: `${u.type} · ${u.envs.join(', ')}`,
      icon: u.type === 'volume' ? 'database' : 'folder',
    }));
  }
}

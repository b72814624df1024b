// The GPUs view (the gateway's inventory: per host, each GPU with model, memory, free units and holders) and the
// Storage view (the volumes and host paths environments mount).
import * as vscode from 'vscode';
import type { Environment, GpuInfo } from '../../common/model';
import { gpuRows } from './gpuModel';
import type { GatewayManager } from '../gateways/manager';

interface Row {
  label: string;
  description?: string;
  tooltip?: string;
  icon: string;
  children?: Row[];
}

abstract class RowsProvider implements vscode.TreeDataProvider<Row>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.emitter.event;
  private readonly sub: vscode.Disposable;
  constructor(protected readonly gateways: GatewayManager) {
    this.sub = gateways.onDidChange(() => this.emitter.fire());
  }
  protected abstract rows(envs: Environment[], gpus: GpuInfo[]): Row[];
  getChildren(row?: Row): Row[] {
    if (row) return row.children ?? [];
    const all = this.gateways.all();
    if (all.length <= 1) return this.rows(all[0]?.environments ?? [], all[0]?.gpus ?? []);
    return all.map((g) => ({ label: g.url, icon: 'cloud', children: this.rows(g.environments, g.gpus) }));
  }
  getTreeItem(row: Row): vscode.TreeItem {
    const item = new vscode.TreeItem(
      row.label,
      row.children?.length ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None,
    );
    item.description = row.description;
    item.tooltip = row.tooltip ?? row.description;
    item.iconPath = new vscode.ThemeIcon(row.icon);
    return item;
  }
  dispose(): void {
    this.sub.dispose();
    this.emitter.dispose();
  }
}

export class GpusProvider extends RowsProvider {
  protected rows(_envs: Environment[], gpus: GpuInfo[]): Row[] {
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
  protected rows(envs: Environment[], _gpus: GpuInfo[]): Row[] {
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

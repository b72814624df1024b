// The GPUs and Storage views. Until the gateway has an inventory endpoint they show what its environments hold:
// the GPUs granted to each (and who holds them) and the volumes/paths they mount.
import * as vscode from 'vscode';
import type { Environment } from '../../common/model';
import type { GatewayManager } from '../gateways/manager';

interface Row { label: string; description?: string; tooltip?: string; icon: string; children?: Row[] }

abstract class RowsProvider implements vscode.TreeDataProvider<Row>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.emitter.event;
  private readonly sub: vscode.Disposable;
  constructor(protected readonly gateways: GatewayManager) { this.sub = gateways.onDidChange(() => this.emitter.fire()); }
  protected abstract rows(envs: Environment[]): Row[];
  getChildren(row?: Row): Row[] {
    if (row) return row.children ?? [];
    const all = this.gateways.all();
    if (all.length <= 1) return this.rows(all[0]?.environments ?? []);
    return all.map((g) => ({ label: g.url, icon: 'cloud', children: this.rows(g.environments) }));
  }
  getTreeItem(row: Row): vscode.TreeItem {
    const item = new vscode.TreeItem(row.label, row.children?.length ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
    item.description = row.description;
    item.tooltip = row.tooltip ?? row.description;
    item.iconPath = new vscode.ThemeIcon(row.icon);
    return item;
  }
  dispose(): void { this.sub.dispose(); this.emitter.dispose(); }
}

export class GpusProvider extends RowsProvider {
  protected rows(envs: Environment[]): Row[] {
    const byBackend = new Map<string, Row[]>();
    for (const e of envs.filter((x) => x.gpu_mode !== 'none')) {
      const rows = byBackend.get(e.backend_id) ?? [];
      const devices = e.gpu_device_ids.length ? e.gpu_device_ids : [`${e.gpu_count}× any`];
      for (const d of devices) rows.push({ label: d, description: vscode.l10n.t('{0} · held by {1} ({2})', e.gpu_mode, e.name, e.status), icon: 'circuit-board' });
      byBackend.set(e.backend_id, rows);
    }
    return [...byBackend].map(([backend, children]) => ({ label: backend, icon: 'server', children }));
  }
}

export class StorageProvider extends RowsProvider {
  protected rows(envs: Environment[]): Row[] {
    const users = new Map<string, { type: string; envs: string[] }>();
    for (const e of envs) {
      for (const m of e.storage_config?.mounts ?? []) {
        const key = `${e.backend_id}:${m.source}`;
        const u = users.get(key) ?? { type: m.type, envs: [] };
        u.envs.push(`${e.name}:${m.target}${m.read_only ? ' (ro)' : ''}`);
        users.set(key, u);
      }
    }
    return [...users].map(([key, u]) => ({ label: key.split(':').slice(1).join(':'), description: `${u.type} · ${u.envs.join(', ')}`, icon: u.type === 'volume' ? 'database' : 'folder' }));
  }
}

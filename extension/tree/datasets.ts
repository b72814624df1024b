// The Datasets view: each gateway's datasets (own and team's) with size, objects and who mounts them; upload and
// download are its item actions (commands/datasets.ts).
import * as vscode from 'vscode';
import { datasetApi } from '../../common/datasetsClient';
import type { GatewayManager } from '../gateways/manager';
import type { GatewayConnection } from '../gateways/connection';
import { datasetRows, type DatasetRow } from './datasetModel';

export type DatasetNode = { gateway: GatewayConnection; row?: DatasetRow };

export class DatasetsProvider implements vscode.TreeDataProvider<DatasetNode>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.emitter.event;
  private readonly sub: vscode.Disposable;
  constructor(private readonly gateways: GatewayManager) {
    this.sub = gateways.onDidChange(() => this.emitter.fire());
  }
  refresh(): void {
    this.emitter.fire();
  }
  async getChildren(node?: DatasetNode): Promise<DatasetNode[]> {
    const all = this.gateways.all();
    if (!node && all.length > 1) return all.map((gateway) => ({ gateway }));
    const gateway = node?.gateway ?? all[0];
    if (!gateway || node?.row) return [];
    const ds = await datasetApi.list(gateway.client).catch(() => []);
    return datasetRows(ds).map((row) => ({ gateway, row }));
  }
  getTreeItem(node: DatasetNode): vscode.TreeItem {
    if (!node.row) {
      const g = new vscode.TreeItem(node.gateway.url, vscode.TreeItemCollapsibleState.Expanded);
      g.iconPath = new vscode.ThemeIcon('cloud');
      return g;
    }
    const item = new vscode.TreeItem(node.row.label, vscode.TreeItemCollapsibleState.None);
    item.description = node.row.description;
    item.tooltip = node.row.tooltip;
    item.iconPath = new vscode.ThemeIcon('archive');
    item.contextValue = 'dataset';
    return item;
  }
  dispose(): void {
    this.sub.dispose();
    this.emitter.dispose();
  }
}

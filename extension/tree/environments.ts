// The Environments view: gateways (when several) → status groups → environments → details.
import * as vscode from 'vscode';
import type { Environment, Snapshot } from '../../common/model';
import type { GatewayConnection } from '../gateways/connection';
import type { GatewayManager } from '../gateways/manager';
import {
  envContextValue,
  envDescription,
  envDetails,
  groupEnvironments,
  treePage,
  snapshotDescription,
  statusIcon,
  tooltipMarkdown,
  type Detail,
  type EnvGroup,
} from './model';
import { backupRows, noBackupsText, type BackupRow } from './backupModel';

export type EnvNode =
  | { kind: 'gateway'; gateway: GatewayConnection }
  | { kind: 'group'; gateway: GatewayConnection; group: EnvGroup }
  /** The group's envs from `from` on: expanding it shows the next page. */
  | { kind: 'more'; gateway: GatewayConnection; group: EnvGroup; from: number; more: number }
  | { kind: 'env'; gateway: GatewayConnection; env: Environment }
  | { kind: 'detail'; detail: Detail }
  | { kind: 'snapshots'; gateway: GatewayConnection; env: Environment }
  | { kind: 'snapshot'; gateway: GatewayConnection; env: Environment; snapshot: Snapshot }
  | { kind: 'backups'; gateway: GatewayConnection; env: Environment }
  | { kind: 'backup'; gateway: GatewayConnection; env: Environment; row: BackupRow }
  | { kind: 'message'; text: string; icon: string };

export class EnvironmentsProvider implements vscode.TreeDataProvider<EnvNode>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<EnvNode | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  private filterText = '';
  private readonly sub: vscode.Disposable;

  constructor(private readonly gateways: GatewayManager) {
    this.sub = gateways.onDidChange(() => this.emitter.fire(undefined));
  }

  get filter(): string {
    return this.filterText;
  }
  setFilter(text: string): void {
    this.filterText = text;
    this.emitter.fire(undefined);
  }

  getChildren(node?: EnvNode): EnvNode[] | Promise<EnvNode[]> {
    if (!node) {
      const all = this.gateways.all();
      if (all.length === 1) return this.gatewayChildren(all[0]);
      return all.map((gateway) => ({ kind: 'gateway', gateway }));
    }
    switch (node.kind) {
      case 'gateway':
        return this.gatewayChildren(node.gateway);
      case 'group':
        return this.page(node.gateway, node.group, 0);
      case 'more':
        return this.page(node.gateway, node.group, node.from);
      case 'env':
        return [
          ...(node.env.deployment_mode === 'vm' && node.env.backend_ref
            ? [{ kind: 'snapshots' as const, gateway: node.gateway, env: node.env }]
            : []),
          { kind: 'backups' as const, gateway: node.gateway, env: node.env },
          ...envDetails(node.env).map((detail): EnvNode => ({ kind: 'detail', detail })),
        ];
      case 'snapshots':
        return this.snapshots(node.gateway, node.env);
      case 'backups':
        return this.backups(node.gateway, node.env);
      default:
        return [];
    }
  }

  /** A page of a group's envs, then a "more" node for the rest: thousands of envs never become one level. */
  private page(gateway: GatewayConnection, group: EnvGroup, from: number): EnvNode[] {
    const { visible, more } = treePage(group.envs, from);
    const nodes: EnvNode[] = visible.map((env) => ({ kind: 'env', gateway, env }));
    if (more > 0) nodes.push({ kind: 'more', gateway, group, from: from + visible.length, more });
    return nodes;
  }

  /** Fetched when the Snapshots node opens (not with the env list: most views never need them). */
  private async snapshots(gateway: GatewayConnection, env: Environment): Promise<EnvNode[]> {
    try {
      const list = await gateway.client.snapshots(env.id);
      if (list.length === 0) return [{ kind: 'message', text: vscode.l10n.t('No snapshots'), icon: 'info' }];
      return list.map((snapshot) => ({ kind: 'snapshot', gateway, env, snapshot }));
    } catch (err) {
      return [{ kind: 'message', text: (err as Error).message, icon: 'warning' }];
    }
  }

  /** Fetched when the Backups node opens: the env's backups, newest (the last one) first; a hint when none. */
  private async backups(gateway: GatewayConnection, env: Environment): Promise<EnvNode[]> {
    try {
      const [list, schedules] = await Promise.all([
        gateway.client.backups({ environment: env.id }),
        gateway.client.backupSchedules().catch(() => []),
      ]);
      const rows = backupRows(list, vscode.l10n.t);
      if (rows.length === 0) {
        const schedule = schedules.find((x) => x.target_kind === 'environment' && x.target_id === env.id);
        return [{ kind: 'message', text: noBackupsText(schedule, vscode.l10n.t), icon: 'info' }];
      }
      return rows.map((row) => ({ kind: 'backup', gateway, env, row }));
    } catch (err) {
      return [{ kind: 'message', text: (err as Error).message, icon: 'warning' }];
    }
  }

  /** Snapshots changed: redraw (the Snapshots node re-fetches when expanded). */
  refresh(): void {
    this.emitter.fire(undefined);
  }

  private gatewayChildren(g: GatewayConnection): EnvNode[] {
    if (g.state.kind === 'error' && g.environments.length === 0) {
      return [
        {
          kind: 'message',
          text: g.state.unauthorized ? vscode.l10n.t('Token rejected: reconnect to {0}', g.url) : g.state.message,
          icon: 'warning',
        },
      ];
    }
    const groups = groupEnvironments(g.environments, this.filterText);
    if (groups.length === 0 && this.filterText)
      return [
        { kind: 'message', text: vscode.l10n.t('No environment matches "{0}"', this.filterText), icon: 'filter' },
      ];
    return groups.map((group) => ({ kind: 'group', gateway: g, group }));
  }

  getTreeItem(node: EnvNode): vscode.TreeItem {
    switch (node.kind) {
      case 'gateway': {
        const item = new vscode.TreeItem(node.gateway.url, vscode.TreeItemCollapsibleState.Expanded);
        item.iconPath = new vscode.ThemeIcon(node.gateway.state.kind === 'error' ? 'debug-disconnect' : 'cloud');
        item.description =
          node.gateway.state.kind === 'error'
            ? node.gateway.state.message
            : vscode.l10n.t('{0} environments', node.gateway.environments.length);
        item.contextValue = 'hangarGateway';
        return item;
      }
      case 'group': {
        const item = new vscode.TreeItem(
          `${vscode.l10n.t(node.group.label)} (${node.group.envs.length})`,
          node.group.group === 'stopped'
            ? vscode.TreeItemCollapsibleState.Collapsed
            : vscode.TreeItemCollapsibleState.Expanded,
        );
        item.id = `${node.gateway.url}#${node.group.group}`;
        item.contextValue = 'hangarGroup';
        return item;
      }
      case 'more': {
        const item = new vscode.TreeItem(
          vscode.l10n.t('{0} more…', node.more),
          vscode.TreeItemCollapsibleState.Collapsed,
        );
        item.id = `${node.gateway.url}#${node.group.group}#from-${node.from}`;
        item.iconPath = new vscode.ThemeIcon('ellipsis');
        item.contextValue = 'hangarMore';
        return item;
      }
      case 'env': {
        const e = node.env;
        const item = new vscode.TreeItem(e.name, vscode.TreeItemCollapsibleState.Collapsed);
        item.id = `${node.gateway.url}#${e.id}`;
        item.description = envDescription(e);
        const icon = statusIcon(e.status);
        item.iconPath = new vscode.ThemeIcon(icon.id, icon.color ? new vscode.ThemeColor(icon.color) : undefined);
        item.tooltip = new vscode.MarkdownString(tooltipMarkdown(e, node.gateway.url));
        item.contextValue = envContextValue(e);
        item.accessibilityInformation = { label: `${e.name}, ${e.status}, ${envDescription(e)}` };
        return item;
      }
      case 'detail': {
        const item = new vscode.TreeItem(node.detail.label, vscode.TreeItemCollapsibleState.None);
        item.description = node.detail.value;
        item.tooltip = node.detail.value;
        item.iconPath = new vscode.ThemeIcon(node.detail.icon);
        item.contextValue = 'hangarDetail';
        return item;
      }
      case 'snapshots': {
        const item = new vscode.TreeItem(vscode.l10n.t('Snapshots'), vscode.TreeItemCollapsibleState.Collapsed);
        item.id = `${node.gateway.url}#${node.env.id}#snapshots`;
        item.iconPath = new vscode.ThemeIcon('history');
        item.contextValue = 'hangarSnapshots';
        return item;
      }
      case 'snapshot': {
        const item = new vscode.TreeItem(node.snapshot.name, vscode.TreeItemCollapsibleState.None);
        item.id = `${node.gateway.url}#${node.env.id}#snapshot#${node.snapshot.name}`;
        item.description = snapshotDescription(node.snapshot);
        item.tooltip = node.snapshot.description ?? undefined;
        item.iconPath = new vscode.ThemeIcon(node.snapshot.current ? 'pass-filled' : 'circle-outline');
        item.contextValue = 'hangarSnapshot';
        return item;
      }
      case 'backups': {
        const item = new vscode.TreeItem(vscode.l10n.t('Backups'), vscode.TreeItemCollapsibleState.Collapsed);
        item.id = `${node.gateway.url}#${node.env.id}#backups`;
        item.iconPath = new vscode.ThemeIcon('archive');
        item.contextValue = 'hangarBackups';
        return item;
      }
      case 'backup': {
        const item = new vscode.TreeItem(node.row.label, vscode.TreeItemCollapsibleState.None);
        item.id = `${node.gateway.url}#${node.env.id}#backup#${node.row.backup.id}`;
        item.description = node.row.description;
        item.tooltip = node.row.tooltip;
        item.iconPath = new vscode.ThemeIcon(node.row.icon);
        item.contextValue = node.row.context;
        return item;
      }
      case 'message': {
        const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
        item.iconPath = new vscode.ThemeIcon(node.icon);
        return item;
      }
    }
  }

  dispose(): void {
    this.sub.dispose();
    this.emitter.dispose();
  }
}

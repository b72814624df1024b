// Which environments a command acts on: the selected tree items (multi-select), the clicked one, or a pick.
import * as vscode from 'vscode';
import type { EnvStatus } from '../../common/model';
import type { EnvRef } from '../gateways/manager';
import type { Services } from '../core/services';
import type { EnvNode } from '../tree/environments';

function isEnvNode(x: unknown): x is Extract<EnvNode, { kind: 'env' }> {
  return typeof x === 'object' && x !== null && (x as EnvNode).kind === 'env';
}

export async function targets(
  s: Services,
  arg: unknown,
  selection: unknown,
  opts: { statuses?: EnvStatus[]; many?: boolean; placeholder: string },
): Promise<EnvRef[]> {
  if (Array.isArray(selection) && selection.length > 1 && opts.many) {
    return selection.filter(isEnvNode).map((n) => ({ gateway: n.gateway, env: n.env }));
  }
  if (isEnvNode(arg)) return [{ gateway: arg.gateway, env: arg.env }];
  if (arg && typeof arg === 'object' && 'env' in arg && 'gateway' in arg) return [arg as EnvRef];
  const candidates = s.gateways
    .all()
    .flatMap((g) =>
      g.environments
        .filter((env) => !opts.statuses || opts.statuses.includes(env.status))
        .map((env) => ({ gateway: g, env })),
    );
  if (candidates.length === 0) {
    void vscode.window.showInformationMessage(vscode.l10n.t('No environment to choose from.'));
    return [];
  }
  const many = s.gateways.all().length > 1;
  const picked = await vscode.window.showQuickPick(
    candidates.map((c) => ({
      label: c.env.name,
      description: `${c.env.status} · ${c.env.environment_type} · ${c.env.backend_id}`,
      detail: many ? c.gateway.url : undefined,
      ref: c,
    })),
    { placeHolder: opts.placeholder, canPickMany: opts.many ?? false, matchOnDescription: true },
  );
  if (!picked) return [];
  return (Array.isArray(picked) ? picked : [picked]).map((p) => p.ref);
}

// Start, stop, restart and delete: several at once from a multi-selection, with progress and cancellation.
import * as vscode from 'vscode';
import type { Environment } from '../../common/model';
import type { Services } from '../core/services';
import { withCancellableProgress } from '../core/progress';
import { targets } from './targets';

type Action = 'start' | 'stop' | 'restart';
const title = (a: Action, names: string) =>
  a === 'start'
    ? vscode.l10n.t('Starting {0}', names)
    : a === 'stop'
      ? vscode.l10n.t('Stopping {0}', names)
      : vscode.l10n.t('Restarting {0}', names);
const pickTitle = (a: Action) =>
  a === 'start'
    ? vscode.l10n.t('Environments to start')
    : a === 'stop'
      ? vscode.l10n.t('Environments to stop')
      : vscode.l10n.t('Environments to restart');
const FROM: Record<Action, Environment['status'][]> = {
  start: ['stopped', 'failed'],
  stop: ['running', 'pending'],
  restart: ['running'],
};

export async function lifecycle(s: Services, action: Action, arg?: unknown, selection?: unknown): Promise<void> {
  const refs = await targets(s, arg, selection, { statuses: FROM[action], many: true, placeholder: pickTitle(action) });
  if (refs.length === 0) return;
  const r = await withCancellableProgress(
    title(action, refs.map((x) => x.env.name).join(', ')),
    async (signal, report) => {
      const results = await Promise.allSettled(
        refs.map(async ({ gateway, env }) => {
          report(env.name);
          await gateway.client.action(env.id, action, signal);
          await gateway.refresh();
        }),
      );
      const failed = results.flatMap((x, i) =>
        x.status === 'rejected' ? [`${refs[i].env.name}: ${(x.reason as Error).message}`] : [],
      );
      if (failed.length) throw new Error(failed.join('; '));
    },
  );
  if (!r.ok && !r.cancelled) throw r.error;
}

export async function remove(s: Services, arg?: unknown, selection?: unknown): Promise<void> {
  const refs = await targets(s, arg, selection, { many: true, placeholder: vscode.l10n.t('Environments to delete') });
  if (refs.length === 0) return;
  const names = refs.map((x) => x.env.name).join(', ');
  const yes = vscode.l10n.t('Delete');
  const answer = await vscode.window.showWarningMessage(
    vscode.l10n.t('Delete {0}? Its container and everything inside it are removed. Named volumes are kept.', names),
    { modal: true },
    yes,
  );
  if (answer !== yes) return;
  await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('Deleting {0}', names) },
    async () => {
      const results = await Promise.allSettled(
        refs.map(async ({ gateway, env }) => {
          await gateway.client.deleteEnvironment(env.id);
          await gateway.refresh();
        }),
      );
      const failed = results.flatMap((x, i) =>
        x.status === 'rejected' ? [`${refs[i].env.name}: ${(x.reason as Error).message}`] : [],
      );
      if (failed.length) throw new Error(failed.join('; '));
    },
  );
}

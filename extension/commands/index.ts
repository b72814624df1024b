// The command table: every id in core/commandIds.ts maps to its handler here (the type makes that total).
import * as vscode from 'vscode';
import type { CommandTable } from '../core/commands';
import type { Services } from '../core/services';
import { askCreateAnswers, provision, provisionRequest } from '../create/flow';
import { askProfileRequest } from '../create/profileFlow';
import type { Environment } from '../../common/model';
import { showProfileDrift } from './profileDrift';
import { copyConnectionInfo, copySshCommand, openJupyter, openRdp, openTerminal, showLogs } from './access';
import { attach } from './attach';
import { showAuditLog } from './audit';
import { backupNow, restoreFromBackup } from './backups';
import { connect, logout } from './connect';
import { lifecycle, remove } from './lifecycle';
import { createSnapshot, deleteSnapshot, revertSnapshot } from './snapshots';
import { mountAnswers } from '../tree/storageModel';
import { createVolume, deleteVolume } from './storage';
import { targets } from './targets';
import { openDesktopPanel } from '../webviews/desktopPanel';
import { downloadFromDataset, syncDatasetsBack, uploadToDataset } from './datasets';

async function create(s: Services, prefill?: ReturnType<typeof mountAnswers>, url?: string): Promise<void> {
  let gateways = s.gateways.all();
  if (gateways.length === 0) {
    if (!(await connect(s))) return;
    gateways = s.gateways.all();
  }
  const g =
    gateways.find((x) => x.url === url) ??
    (gateways.length === 1
      ? gateways[0]
      : (
          await vscode.window.showQuickPick(
            gateways.map((x) => ({ label: x.url, g: x })),
            { placeHolder: vscode.l10n.t('Create on which gateway?') },
          )
        )?.g);
  if (!g) return;
  const backends = await g.client.backends();
  if (!backends.some((b) => b.available))
    throw new Error(
      vscode.l10n.t(
        'No backend of {0} is reachable: {1}',
        g.url,
        backends.map((b) => `${b.id}: ${b.error}`).join('; '),
      ),
    );
  // Profiles first where the gateway has some for this user (an older gateway has none: the full form).
  const list = await g.client.profiles().catch(() => undefined);
  let env: Environment | undefined;
  // A pre-filled mount goes through the full form (a profile fixes its own storage).
  const viaProfile = list?.profiles.length && !prefill ? await askProfileRequest(list, g.gpus) : 'custom';
  if (viaProfile === undefined) return;
  if (viaProfile !== 'custom') env = await provisionRequest(g.client, viaProfile);
  else {
    if (list && !list.custom_allowed)
      throw new Error(vscode.l10n.t('{0} offers you no profile, and your role creates from profiles only.', g.url));
    const recent = [...new Set(g.environments.map((e) => e.image))];
    const templates = backends.some((b) => b.kind === 'libvirt') ? await g.client.templates().catch(() => []) : [];
    const backend = backends.find((b) => b.id === prefill?.backend_id);
    const answers = await askCreateAnswers(backends, recent, g.gpus, templates, {
      ...(prefill ? { mounts: prefill.mounts, storage_type: prefill.storage_type } : {}),
      ...(backend ? { backend } : {}),
    });
    if (!answers) return;
    env = await provision(g.client, answers);
  }
  await g.refresh();
  if (env) {
    const open = vscode.l10n.t('Open in Remote-SSH');
    if ((await vscode.window.showInformationMessage(vscode.l10n.t('{0} is running.', env.name), open)) === open)
      await attach(s, { gateway: g, env });
  }
}

export function commandTable(s: Services): CommandTable {
  return {
    'hangar.connect': (url?: string, token?: string) => connect(s, typeof url === 'string' ? url : undefined, token),
    'hangar.logout': (arg?: unknown) => logout(s, arg),
    'hangar.refresh': () => s.gateways.refreshAll(),
    'hangar.filter': async () => {
      const text = await vscode.window.showInputBox({
        prompt: vscode.l10n.t('Show environments whose name, image or backend contains…'),
        value: s.envTree.filter,
      });
      if (text !== undefined) {
        s.envTree.setFilter(text);
        s.envView.description = text ? vscode.l10n.t('filter: {0}', text) : undefined;
      }
    },
    'hangar.clearFilter': () => {
      s.envTree.setFilter('');
      s.envView.description = undefined;
    },
    'hangar.createEnvironment': () => create(s),
    'hangar.start': (arg?: unknown, sel?: unknown) => lifecycle(s, 'start', arg, sel),
    'hangar.stop': (arg?: unknown, sel?: unknown) => lifecycle(s, 'stop', arg, sel),
    'hangar.restart': (arg?: unknown, sel?: unknown) => lifecycle(s, 'restart', arg, sel),
    'hangar.delete': (arg?: unknown, sel?: unknown) => remove(s, arg, sel),
    'hangar.attach': (arg?: unknown) => attach(s, arg),
    'hangar.openJupyter': (arg?: unknown) => openJupyter(s, arg, false),
    'hangar.openJupyterInBrowser': (arg?: unknown) => openJupyter(s, arg, true),
    'hangar.openDesktop': async (arg?: unknown) => {
      const [ref] = await targets(s, arg, undefined, {
        statuses: ['running'],
        placeholder: vscode.l10n.t('Open the desktop of…'),
      });
      if (ref) await openDesktopPanel(s.context, s.log, ref.gateway, ref.env);
    },
    'hangar.openRdp': (arg?: unknown) => openRdp(s, arg),
    'hangar.copySshCommand': (arg?: unknown) => copySshCommand(s, arg),
    'hangar.copyConnectionInfo': (arg?: unknown) => copyConnectionInfo(s, arg),
    'hangar.showLogs': (arg?: unknown) => showLogs(s, arg),
    'hangar.openTerminal': (arg?: unknown) => openTerminal(s, arg),
    'hangar.createSnapshot': (arg?: unknown) => createSnapshot(s, arg),
    'hangar.revertSnapshot': (arg?: unknown) => revertSnapshot(s, arg),
    'hangar.deleteSnapshot': (arg?: unknown) => deleteSnapshot(s, arg),
    'hangar.backupNow': (arg?: unknown) => backupNow(s, arg),
    'hangar.syncDatasets': (arg?: unknown) => syncDatasetsBack(s, arg),
    'hangar.restoreFromBackup': (arg?: unknown) => restoreFromBackup(s, arg),
    'hangar.showAuditLog': () => showAuditLog(s),
    'hangar.showOutput': () => s.log.show(),
    'hangar.showProfileDrift': (arg?: unknown) => showProfileDrift(s, arg),
    'hangar.createVolume': (row?: unknown) => createVolume(s, row as Parameters<typeof createVolume>[1]),
    'hangar.deleteVolume': (row?: unknown) => deleteVolume(s, row as Parameters<typeof deleteVolume>[1]),
    'hangar.mountInNewEnvironment': async (row?: unknown) => {
      const r = row as Parameters<typeof mountAnswers>[0] & { gateway?: string };
      if (r?.mount) await create(s, mountAnswers(r), r.gateway);
    },
    'hangar.uploadToDataset': uploadToDataset,
    'hangar.downloadFromDataset': downloadFromDataset,
  };
}

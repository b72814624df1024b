// Upload to and download from a dataset through the gateway: files or a folder, withProgress in bytes and rate, with
// a cancel button (a cancelled multipart upload is aborted on the store: nothing half-made stays).
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import * as vscode from 'vscode';
import { abandonUpload, datasetApi, downloadFile, filesUnder, uploadFile } from '../../common/datasetsClient';
import { withCancellableProgress } from '../core/progress';
import { progressText } from '../tree/datasetModel';
import type { DatasetNode } from '../tree/datasets';
import type { Services } from '../core/services';
import { targets } from './targets';

const stateDir = path.join(os.tmpdir(), 'hangar-vscode-uploads');

export async function uploadToDataset(node: DatasetNode | undefined): Promise<void> {
  if (!node?.row) return;
  const picked = await vscode.window.showOpenDialog({
    canSelectFiles: true,
    canSelectFolders: true,
    canSelectMany: true,
    openLabel: vscode.l10n.t('Upload'),
  });
  if (!picked?.length) return;
  const files = picked.flatMap((u): [string, string][] =>
    fs.statSync(u.fsPath).isDirectory()
      ? filesUnder(u.fsPath, path.basename(u.fsPath))
      : [[u.fsPath, path.basename(u.fsPath)]],
  );
  const ref = `id:${node.row.dataset.id}`;
  let current: [string, string] | undefined;
  const r = await withCancellableProgress(vscode.l10n.t('Uploading to {0}', node.row.label), async (signal, report) => {
    for (const f of files) {
      current = f;
      await uploadFile(node.gateway.client, ref, f[0], f[1], {
        signal,
        stateDir,
        onProgress: (p) => report(`${path.basename(f[0])}: ${progressText(p)}`),
      });
    }
  });
  if (!r.ok && r.cancelled && current) await abandonUpload(node.gateway.client, ref, current[0], current[1], stateDir);
  if (!r.ok && !r.cancelled) throw r.error;
  void vscode.commands.executeCommand('hangar.refresh');
}

export async function downloadFromDataset(node: DatasetNode | undefined): Promise<void> {
  if (!node?.row) return;
  const dest = await vscode.window.showOpenDialog({
    canSelectFiles: false,
    canSelectFolders: true,
    openLabel: vscode.l10n.t('Download here'),
  });
  if (!dest?.[0]) return;
  const ref = `id:${node.row.dataset.id}`;
  const r = await withCancellableProgress(vscode.l10n.t('Downloading {0}', node.row.label), async (signal, report) => {
    for (const o of await datasetApi.objects(node.gateway.client, ref)) {
      await downloadFile(node.gateway.client, ref, o.key, path.join(dest[0].fsPath, ...o.key.split('/')), {
        signal,
        onProgress: (p) => report(`${o.key}: ${progressText(p)}`),
      });
    }
  });
  if (!r.ok && !r.cancelled) throw r.error;
}

/** "Sync Datasets Back": a running pod's read-write datasets copied back to the store now (done at stop anyway). */
export async function syncDatasetsBack(s: Services, arg?: unknown): Promise<void> {
  const [ref] = await targets(s, arg, undefined, {
    statuses: ['running'],
    placeholder: vscode.l10n.t('Copy the datasets of… back to the store'),
  });
  if (!ref) return;
  const r = await vscode.window.withProgress(
    {
      location: vscode.ProgressLocation.Notification,
      title: vscode.l10n.t('Copying the datasets of {0} back', ref.env.name),
    },
    () => ref.gateway.client.syncDatasets(ref.env.id),
  );
  const failed = r.datasets.filter((x) => !x.ok);
  if (failed.length)
    throw new Error(failed.map((x) => `${x.source} (${x.target}): ${x.message ?? 'failed'}`).join('; '));
  void vscode.window.showInformationMessage(
    vscode.l10n.t('Copied back to the store: {0}', r.datasets.map((x) => `${x.source} (${x.target})`).join(', ')),
  );
}

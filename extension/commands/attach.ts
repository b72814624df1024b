// One-click Remote-SSH: start the env if needed, write the gateway's managed block into the SSH config, and
// open the remote window. Without Remote-SSH (or a fork), offer to install it; the config is ready either way.
import os from 'node:os';
import path from 'node:path';
import * as vscode from 'vscode';
import { identityFile, knownHostsFile } from '../../common/localKey';
import { sshAlias } from '../../common/names';
import { remoteFolderUri, REMOTE_SSH_EXTENSIONS } from '../attach/remoteUri';
import { probeForwarding } from '../attach/koko';
import type { Services } from '../core/services';
import { withCancellableProgress } from '../core/progress';
import type { EnvRef } from '../gateways/manager';
import { renderBlock, writeManagedBlock } from '../../common/sshConfig';
import { targets } from './targets';

export interface AttachResult {
  uri: string;
  configFile: string;
  opened: boolean;
  warnings: string[];
}

/** `remote.SSH.configFile` when set (with ~ expanded), else ~/.ssh/config. */
export function sshConfigFile(): string {
  const configured = vscode.workspace.getConfiguration('remote.SSH').get<string>('configFile');
  if (configured) return configured.startsWith('~') ? path.join(os.homedir(), configured.slice(1)) : configured;
  return path.join(os.homedir(), '.ssh', 'config');
}

export async function writeGatewayBlock(
  s: Services,
  gatewayUrl: string,
): Promise<{ file: string; warnings: string[] }> {
  const g = s.gateways.get(gatewayUrl);
  const viaJms = g
    ? await Promise.all(
        g.environments.filter((e) => e.use_jumpserver).map((e) => g.client.connection(e.id).catch(() => undefined)),
      )
    : [];
  const block = renderBlock({
    gatewayUrl,
    // use_jumpserver envs go through KoKo (JumpServer's SSH gateway) instead of the gateway's tunnel.
    jumpserver: viaJms.flatMap((ci) => (ci?.jumpserver ? [{ alias: ci.ssh.host_alias, ...ci.jumpserver }] : [])),
    proxyCommand: s.cli.proxyCommand,
    knownHostsFile: knownHostsFile(s.cli.configDir),
    identityFile: identityFile(s.cli.configDir),
    // Envs whose login user isn't the default get their own Host entry ahead of the gateway's wildcard.
    envs: (g?.environments ?? [])
      .filter((e) => e.ssh_user !== 'hangar')
      .map((e) => ({ alias: sshAlias(gatewayUrl, e.name), user: e.ssh_user })),
  });
  const file = sshConfigFile();
  const { warnings } = await writeManagedBlock(file, gatewayUrl, block);
  return { file, warnings };
}

async function ensureRunning(ref: EnvRef): Promise<EnvRef['env'] | undefined> {
  if (ref.env.status === 'running') return ref.env;
  if (!['stopped', 'failed'].includes(ref.env.status)) {
    throw new Error(vscode.l10n.t('{0} is {1}; try again when it is running.', ref.env.name, ref.env.status));
  }
  const r = await withCancellableProgress(
    vscode.l10n.t('Starting {0} before attaching', ref.env.name),
    async (signal, report) => {
      report(vscode.l10n.t('starting…'));
      await ref.gateway.client.action(ref.env.id, 'start', signal);
      const env = await ref.gateway.client.waitFor(ref.env.id, ['running'], {
        signal,
        onStatus: (e) => report(e.status),
      });
      await ref.gateway.refresh();
      return env;
    },
  );
  if (r.ok) return r.value;
  if (r.cancelled) return undefined;
  throw r.error;
}

export async function attach(s: Services, arg?: unknown): Promise<AttachResult | undefined> {
  const [ref] = await targets(s, arg, undefined, { placeholder: vscode.l10n.t('Environment to open over Remote-SSH') });
  if (!ref) return undefined;
  const env = await ensureRunning(ref);
  if (!env) return undefined;
  const { file, warnings } = await writeGatewayBlock(s, ref.gateway.url);
  for (const w of warnings) void vscode.window.showWarningMessage(`Hangar: ${w}`);
  const folder = vscode.workspace.getConfiguration('hangar').get<string>('remoteFolder') || `/home/${env.ssh_user}`;
  const uri = remoteFolderUri(ref.gateway.url, env.name, folder);
  s.log.info(`attach ${env.name}: ${uri} (ssh config ${file})`);
  if (env.use_jumpserver) {
    // Through KoKo: Remote-SSH would hang at "Setting up SSH tunnel" if KoKo refuses forwarding; ask first.
    const probe = await probeForwarding({ configFile: file, alias: sshAlias(ref.gateway.url, env.name) });
    if (!probe.ok && probe.hint) throw new Error(vscode.l10n.t('{0} (through JumpServer): {1}', env.name, probe.hint));
    if (!probe.ok) s.log.warn(`attach ${env.name}: probe through JumpServer failed: ${probe.output}`);
  }

  const installed = REMOTE_SSH_EXTENSIONS.some((id) => vscode.extensions.getExtension(id));
  if (!installed) {
    // Not awaited: the command finishes (the config is ready) while the offer stays on screen.
    const install = vscode.l10n.t('Install Remote - SSH');
    const anyway = vscode.l10n.t('Open Anyway');
    void vscode.window
      .showInformationMessage(
        vscode.l10n.t(
          'Opening {0} needs the Remote - SSH extension. Your SSH config is ready ({1}): `ssh {2}` works in a terminal too.',
          env.name,
          file,
          sshAlias(ref.gateway.url, env.name),
        ),
        install,
        anyway,
      )
      .then(async (choice) => {
        if (choice === install)
          await vscode.commands.executeCommand('workbench.extensions.installExtension', REMOTE_SSH_EXTENSIONS[0]);
        if (choice === anyway) await openRemote(uri);
      });
    return { uri, configFile: file, opened: false, warnings };
  }
  await openRemote(uri);
  return { uri, configFile: file, opened: true, warnings };
}

function openRemote(uri: string): Thenable<unknown> {
  return vscode.commands.executeCommand('vscode.openFolder', vscode.Uri.parse(uri), { forceNewWindow: true });
}

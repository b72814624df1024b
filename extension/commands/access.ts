// Jupyter, SSH command / connection info to the clipboard, logs that follow, and a terminal running `hangar ssh`.
import * as vscode from 'vscode';
import { sshAlias } from '../../common/names';
import type { Services } from '../core/services';
import { targets } from './targets';

export async function openJupyter(s: Services, arg: unknown, external: boolean): Promise<void> {
  const [ref] = await targets(s, arg, undefined, {
    statuses: ['running'],
    placeholder: vscode.l10n.t('Open Jupyter of…'),
  });
  if (!ref) return;
  // A one-minute link from the gateway that becomes a cookie scoped to this env's Jupyter: the page is served from
  // the gateway's own origin, so it works in the Simple Browser, code-server and any browser.
  const { url } = await ref.gateway.client.request<{ url: string }>(
    'POST',
    `/api/v1/environments/${ref.env.id}/jupyter-session`,
  );
  if (external) {
    await vscode.env.openExternal(vscode.Uri.parse(url));
    return;
  }
  await vscode.commands.executeCommand('simpleBrowser.show', url);
}

export async function copySshCommand(s: Services, arg: unknown): Promise<void> {
  const [ref] = await targets(s, arg, undefined, { placeholder: vscode.l10n.t('Copy the SSH command of…') });
  if (!ref) return;
  const cmd = `ssh ${sshAlias(ref.gateway.url, ref.env.name)}`;
  await vscode.env.clipboard.writeText(cmd);
  void vscode.window.showInformationMessage(
    vscode.l10n.t('Copied "{0}" (the Hangar block in your SSH config makes it work; Attach writes it).', cmd),
  );
}

export async function copyConnectionInfo(s: Services, arg: unknown): Promise<void> {
  const [ref] = await targets(s, arg, undefined, { placeholder: vscode.l10n.t('Copy the connection info of…') });
  if (!ref) return;
  const c = await ref.gateway.client.connection(ref.env.id);
  const lines = [
    `${c.name} (${c.environment_id})`,
    c.jumpserver
      ? `ssh: ssh ${c.ssh.host_alias}   (through JumpServer: ssh -p ${c.jumpserver.port} ${c.jumpserver.user}@${c.jumpserver.host})`
      : `ssh: ssh ${c.ssh.host_alias}   (user ${c.ssh.user}; ProxyCommand: hangar proxy --url ${ref.gateway.url} %n)`,
    ...(c.jumpserver?.web_url ? [`jumpserver web terminal: ${c.jumpserver.web_url}`] : []),
    ...(c.direct_refused ? [`direct access refused: ${c.direct_refused.reason}`] : []),
    ...(c.jupyter ? [`jupyter: ${c.jupyter.url}  (gateway token required; Jupyter token ${c.jupyter.token})`] : []),
    ...(c.vnc ? [`vnc: port ${c.vnc.port}${c.vnc.password ? `, password ${c.vnc.password}` : ''}`] : []),
    ...(c.rdp ? [`rdp: ${c.rdp.host}:${c.rdp.port}, user ${c.rdp.user}, password ${c.rdp.password}`] : []),
    ...(c.declared ?? []).map((a) => `${a.protocol}: port ${a.port} (hangar proxy --port ${a.port} ${c.name})`),
  ];
  await vscode.env.clipboard.writeText(lines.join('\n') + '\n');
  void vscode.window.showInformationMessage(vscode.l10n.t('Connection info of {0} copied.', c.name));
}

/** Logs in a terminal tab that follows them; closing the tab stops the stream. */
export async function showLogs(s: Services, arg: unknown): Promise<void> {
  const [ref] = await targets(s, arg, undefined, { placeholder: vscode.l10n.t('Show logs of…') });
  if (!ref) return;
  const write = new vscode.EventEmitter<string>();
  const ac = new AbortController();
  const pty: vscode.Pseudoterminal = {
    onDidWrite: write.event,
    open: () => {
      void (async () => {
        try {
          const body = await ref.gateway.client.logs(ref.env.id, { tail: 500, follow: true, signal: ac.signal });
          const reader = body.getReader();
          const dec = new TextDecoder();
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            write.fire(dec.decode(value, { stream: true }).replace(/\r?\n/g, '\r\n'));
          }
          write.fire(`\r\n[${vscode.l10n.t('log stream ended')}]\r\n`);
        } catch (err) {
          if (!ac.signal.aborted) write.fire(`\r\n[${(err as Error).message}]\r\n`);
        }
      })();
    },
    close: () => ac.abort(),
  };
  vscode.window
    .createTerminal({ name: vscode.l10n.t('Logs: {0}', ref.env.name), pty, iconPath: new vscode.ThemeIcon('output') })
    .show();
}

export async function openTerminal(s: Services, arg: unknown): Promise<void> {
  const [ref] = await targets(s, arg, undefined, {
    statuses: ['running'],
    placeholder: vscode.l10n.t('Open a terminal in…'),
  });
  if (!ref) return;
  const [shellPath, ...pre] = s.cli.argv;
  const t = vscode.window.createTerminal({
    name: `Hangar: ${ref.env.name}`,
    shellPath,
    shellArgs: [...pre, '--url', ref.gateway.url, 'ssh', ref.env.name],
    env: s.cli.env,
    iconPath: new vscode.ThemeIcon('remote'),
  });
  t.show();
}

/** Saves the env's .rdp file and hands it to the system's Remote Desktop client; the password goes to the clipboard.
 *  For a use_jumpserver env registered in JumpServer it is the file JumpServer issues (its RDP gateway, a fresh token
 *  whose value is the password), else the gateway's direct one. */
export async function openRdp(s: Services, arg: unknown): Promise<void> {
  const [ref] = await targets(s, arg, undefined, {
    statuses: ['running'],
    placeholder: vscode.l10n.t('Open with Remote Desktop…'),
  });
  if (!ref) return;
  const r = await ref.gateway.client.rdp(ref.env.id);
  const dir = vscode.Uri.joinPath(s.context.globalStorageUri, 'rdp');
  await vscode.workspace.fs.createDirectory(dir);
  const file = vscode.Uri.joinPath(dir, r.filename.replace(/[^A-Za-z0-9._-]/g, '_'));
  await vscode.workspace.fs.writeFile(file, Buffer.from(r.rdp_file));
  await vscode.env.clipboard.writeText(r.password);
  await vscode.env.openExternal(file);
  s.log.info(`rdp ${ref.env.name}: ${r.via} ${r.host}:${r.port} (${file.fsPath})`);
  void vscode.window.showInformationMessage(
    r.via === 'jumpserver'
      ? vscode.l10n.t(
          'Opened {0} (through JumpServer) with your Remote Desktop client; the token on the clipboard is the password for {1} seconds.',
          r.filename,
          String(r.expire_time ?? 300),
        )
      : vscode.l10n.t('Opened {0} with your Remote Desktop client; the password is on the clipboard.', r.filename),
  );
}

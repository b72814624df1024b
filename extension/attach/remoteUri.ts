// What "attach" hands to Remote-SSH. Pure, so the URI and the ProxyCommand are unit-tested.
import { sshAlias } from '../../common/names';

/** Remote-SSH and its forks (VSCodium's open-remote-ssh, Cursor's) by extension id. */
export const REMOTE_SSH_EXTENSIONS = [
  'ms-vscode-remote.remote-ssh',
  'jeanp413.open-remote-ssh',
  'anysphere.remote-ssh',
];

export function remoteAuthority(gatewayUrl: string, envName: string): string {
  return `ssh-remote+${sshAlias(gatewayUrl, envName)}`;
}

export function remoteFolderUri(gatewayUrl: string, envName: string, folder: string): string {
  return `vscode-remote://${remoteAuthority(gatewayUrl, envName)}${folder.startsWith('/') ? folder : '/' + folder}`;
}

/** How ssh should start the bundled CLI: the native proxy for this platform when the extension ships one (no
 *  runtime start, no `node` needed on Windows), else the Node CLI. Inside VS Code's Electron the runtime must be
 *  told to act as Node. */
export function proxyCommand(o: {
  execPath: string;
  electron: boolean;
  cliScript: string;
  configDir: string;
  platform: NodeJS.Platform;
  nativeProxy?: string;
}): string {
  const q = (s: string) => (/[\s"'$`\\]/.test(s) ? `"${s.replace(/(["\\$`])/g, '\\$1')}"` : s);
  if (o.nativeProxy) return `${q(o.nativeProxy)} --config-dir ${q(o.configDir)}`;
  // Windows has no portable way to set an env var inside a ProxyCommand: use a `node` from PATH there.
  const runtime = !o.electron
    ? q(o.execPath)
    : o.platform === 'win32'
      ? 'node'
      : `/usr/bin/env ELECTRON_RUN_AS_NODE=1 ${q(o.execPath)}`;
  return `${runtime} ${q(o.cliScript)} --config-dir ${q(o.configDir)}`;
}

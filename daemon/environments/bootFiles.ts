// Files placed in every environment before its first start: the init script, sshd config, keys. Pure functions:
// the same files serve Docker containers, Kubernetes pods and VM seeds; where they go is the contract's boot layout.
import { BOOT_PATHS, JUPYTER_PORT, SSH_PORT, VNC_PORT, type BootFile, type BootRole } from '../contract';
import { shq } from '../backends/shared/streams';
import type { SshServer } from '../../common/model';
import { agentConfig, sshServerExec, USER_BLOCK } from './bootUser';

export { shq };

/** `port`: where the env's sshd listens inside (a backend may say another, see Driver.sshPort). */
export function sshdConfig(envVars: Record<string, string>, port = SSH_PORT): string {
  // SetEnv passes the env's variables to SSH sessions (they don't inherit the container's environment).
  // Values with quotes, backslashes or newlines can't be expressed there; /etc/profile.d covers those.
  const setEnv = Object.entries(envVars)
    .filter(([, v]) => !/["\\\n\r]/.test(v))
    .map(([k, v]) => `SetEnv "${k}=${v}"`);
  return [
    '# Managed by Hangar: regenerated at every start.',
    `Port ${port}`,
    `HostKey ${BOOT_PATHS.host_key}`,
    `AuthorizedKeysFile ${BOOT_PATHS.authorized_keys} .ssh/authorized_keys`,
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin no',
    'UsePAM no',
    'AllowTcpForwarding yes',
    'X11Forwarding no',
    'PrintMotd no',
    'AcceptEnv LANG LC_*',
    'Subsystem sftp internal-sftp',
    ...setEnv,
    '',
  ].join('\n');
}

export function profileScript(envVars: Record<string, string>): string {
  return ['# Managed by Hangar', ...Object.entries(envVars).map(([k, v]) => `export ${k}=${shq(v)}`), ''].join('\n');
}

export interface InitOptions {
  user: string;
  /** Start TigerVNC's Xvnc and a desktop session (when the image has them). */
  desktop?: boolean;
  /** Jupyter's base URL (the gateway proxies it there); null: don't start Jupyter. */
  jupyterBaseUrl: string | null;
  /** Mount points of named volumes, made writable for the login user. */
  volumeDirs: string[];
  /** What it ends in: the image's sshd (default) or hangar-agent. */
  sshServer?: SshServer;
}

/** Starts Jupyter when the image has one and a token was given. */
function jupyterBlock(baseUrl: string): string {
  // $P is the config class the chosen server reads (ServerApp or, for Notebook 6, NotebookApp).
  const jupyterArgs = [
    '--$P.ip=0.0.0.0',
    `--$P.port=${JUPYTER_PORT}`,
    `--$P.base_url=${baseUrl}`,
    '--$P.open_browser=False',
    '--$P.allow_remote_access=True',
  ].join(' ');
  return `if [ -s /.hangar/jupyter_token ]; then
  # Prefer a server with a web UI: JupyterLab, then Notebook (6.x configures NotebookApp, 7+ ServerApp), then the bare server.
  J=""; P=ServerApp
  if command -v jupyter-lab >/dev/null 2>&1; then J=jupyter-lab
  elif command -v jupyter-notebook >/dev/null 2>&1; then
    J=jupyter-notebook
    case "$(jupyter-notebook --version 2>/dev/null)" in [0-6].*) P=NotebookApp ;; esac
  elif command -v jupyter-server >/dev/null 2>&1; then J=jupyter-server
  fi
  if [ -n "$J" ]; then
    [ "$ROOT" = 1 ] && chown "$U" /.hangar/jupyter_token
    # The token is read from a file inside the env: it never appears in the container's config or env.
    as_user "cd \\"$H\\" && exec $J --$P.token=\\"\\$(cat /.hangar/jupyter_token)\\" ${jupyterArgs} >/tmp/jupyter.log 2>&1" &
  fi
fi
`;
}

/** Xvnc and a desktop session, when the image has them (desktop envs). */
const VNC_BLOCK = `if [ -s /.hangar/vnc_password ] && command -v Xvnc >/dev/null 2>&1; then
  install -d -m 1777 /tmp/.X11-unix
  # A restart keeps /tmp: a stale display lock would stop Xvnc ("server already active").
  rm -f /tmp/.X1-lock /tmp/.X11-unix/X1
  # VNC authentication reads a DES-obfuscated password file; vncpasswd -f makes it from the 8-character password.
  as_user 'umask 077 && mkdir -p "$HOME/.vnc" && vncpasswd -f >"$HOME/.vnc/passwd"' </.hangar/vnc_password
  as_user 'exec Xvnc :1 -rfbport ${VNC_PORT} -rfbauth "$HOME/.vnc/passwd" -SecurityTypes VncAuth -localhost=0 -geometry 1280x800 -depth 24 >/tmp/xvnc.log 2>&1' </dev/null &
  for _ in $(seq 1 50); do [ -e /tmp/.X11-unix/X1 ] && break; sleep 0.1; done
  if [ -x /etc/X11/Xsession ]; then as_user 'DISPLAY=:1 exec /etc/X11/Xsession' </dev/null >/dev/null 2>&1 & fi
fi
`;

/** xrdp, when the image has it (desktop envs). */
const RDP_BLOCK = `if [ -s /.hangar/rdp_password ] && command -v xrdp >/dev/null 2>&1; then
  # RDP logs in through PAM: the login user gets the generated password (sshd still takes keys only).
  printf '%s:%s\\n' "$U" "$(cat /.hangar/rdp_password)" | chpasswd
  sh /usr/share/xrdp/socksetup 2>/dev/null || true
  touch /var/log/xrdp.log && chown xrdp:adm /var/log/xrdp.log 2>/dev/null || true
  [ -s /etc/xrdp/rsakeys.ini ] || { (umask 077 && xrdp-keygen xrdp auto >/dev/null) && chown xrdp /etc/xrdp/rsakeys.ini; }
  [ -s /etc/ssl/private/ssl-cert-snakeoil.key ] || DEBIAN_FRONTEND=noninteractive make-ssl-cert generate-default-snakeoil
  xrdp-sesman --nodaemon </dev/null >/tmp/xrdp-sesman.out 2>&1 &
  start-stop-daemon --start --chuid xrdp:xrdp --exec /usr/sbin/xrdp -- --nodaemon </dev/null >/tmp/xrdp.out 2>&1 &
fi
`;

/** PID 1's child: create the login user, start Jupyter (and a desktop) when asked and present — the one place that
 *  does, whichever SSH server follows — then run sshd or hangar-agent in the foreground. */
export function initScript(o: InitOptions): string {
  return `#!/bin/sh
# Managed by Hangar.
set -eu
U=${shq(o.user)}
${USER_BLOCK}cp /.hangar/profile.sh /etc/profile.d/hangar-env.sh 2>/dev/null || true
# Fresh named volumes are root-owned: hand them to the login user (bind mounts from the host are left alone).
for d in ${o.volumeDirs.map(shq).join(' ')}; do
  if [ "$ROOT" = 1 ] && [ -d "$d" ] && [ "$(stat -c %u "$d")" = 0 ]; then chown "$U:" "$d"; fi
done
${o.jupyterBaseUrl === null ? '' : jupyterBlock(o.jupyterBaseUrl)}${o.desktop ? VNC_BLOCK + RDP_BLOCK : ''}${sshServerExec(o.sshServer ?? 'image')}`;
}

export interface BootInput {
  user: string;
  authorizedKeys: string;
  hostPrivateKey: string;
  hostPublicKey: string;
  envVars: Record<string, string>;
  jupyterToken: string | null;
  jupyterBaseUrl: string;
  vncPassword?: string | null;
  rdpPassword?: string | null;
  volumeDirs: string[];
  /** The port sshd listens on inside (default SSH_PORT). */
  sshPort?: number;
  sshServer?: SshServer;
  /** The gateway's status probe keys (hangar-agent's status_keys). */
  statusKeys?: string[];
}

const file = (role: BootRole, content: string, mode: number): BootFile => ({
  path: BOOT_PATHS[role],
  content,
  mode,
  role,
});

export function bootFiles(b: BootInput): BootFile[] {
  const files: BootFile[] = [
    file(
      'init',
      initScript({
        user: b.user,
        jupyterBaseUrl: b.jupyterToken ? b.jupyterBaseUrl : null,
        volumeDirs: b.volumeDirs,
        desktop: Boolean(b.vncPassword),
        sshServer: b.sshServer,
      }),
      0o755,
    ),
    file('sshd_config', sshdConfig(b.envVars, b.sshPort), 0o644),
    file('profile', profileScript(b.envVars), 0o644),
    file('authorized_keys', b.authorizedKeys, 0o644),
    file('host_key', b.hostPrivateKey, 0o600),
    file('host_key_pub', b.hostPublicKey + '\n', 0o644),
  ];
  if (b.sshServer === 'agent') files.push(agentConfig(b.user, b.envVars, b.sshPort, b.statusKeys));
  if (b.jupyterToken) files.push(file('jupyter_token', b.jupyterToken, 0o600));
  if (b.vncPassword) files.push(file('vnc_password', b.vncPassword + '\n', 0o600));
  if (b.rdpPassword) files.push(file('rdp_password', b.rdpPassword + '\n', 0o600));
  return files;
}

/** A secret rewritten in a live env (rotation): the same file, with its role. */
export function secretFile(secret: 'jupyter_token' | 'vnc_password' | 'rdp_password', value: string): BootFile {
  return file(secret, secret === 'jupyter_token' ? value : value + '\n', 0o600);
}

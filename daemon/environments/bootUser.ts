// The init script's first and last parts: the login user made in any image (useradd, busybox adduser, or lines
// appended to /etc/passwd and /etc/group when neither exists), and the SSH server it ends in (the image's sshd or
// hangar-agent). Without root (the image's USER, or a restricted pod) nothing is created: the agent serves as
// whoever the env runs as.
import { AGENT_PATH, BOOT_PATHS, LOGIN_GID, LOGIN_UID, SSH_PORT, type BootFile } from '../contract';
import type { SshServer } from '../../common/model';

export const USER_BLOCK = `ROOT=0; [ "$(id -u)" = 0 ] && ROOT=1
# Commands of the login user: su from root; as is when the env already runs as that user (no root inside).
as_user() { if [ "$ROOT" = 1 ]; then su -s /bin/sh "$U" -c "$1"; else sh -c "$1"; fi; }
add_user_by_hand() {
  mkdir -p /etc && touch /etc/passwd /etc/group
  grep -q '^root:' /etc/passwd || echo 'root:x:0:0:root:/root:/bin/sh' >>/etc/passwd
  grep -q '^root:' /etc/group || echo 'root:x:0:' >>/etc/group
  uid=${LOGIN_UID}; while cut -d: -f3 /etc/passwd | grep -qx "$uid"; do uid=$((uid + 1)); done
  sh_=/bin/sh; [ -x /bin/bash ] && sh_=/bin/bash
  echo "$U:x:$uid:$uid::/home/$U:$sh_" >>/etc/passwd
  echo "$U:x:$uid:" >>/etc/group
  mkdir -p "/home/$U" && chown "$uid:$uid" "/home/$U" && chmod 0755 "/home/$U"
}
# uid/gid ${LOGIN_UID} when the image leaves them free: directories made on NFS shares belong to that number.
if [ "$ROOT" = 1 ] && ! grep -q "^$U:" /etc/passwd 2>/dev/null; then
  if command -v useradd >/dev/null 2>&1; then
    I=""; getent passwd ${LOGIN_UID} >/dev/null 2>&1 || I="-u ${LOGIN_UID}"
    getent group ${LOGIN_GID} >/dev/null 2>&1 || groupadd -g ${LOGIN_GID} "$U" 2>/dev/null || true
    [ -z "$I" ] || [ "$(getent group ${LOGIN_GID} | cut -d: -f1)" != "$U" ] || I="$I -g ${LOGIN_GID}"
    useradd -m -s /bin/bash $I "$U" || useradd -m -g "$U" "$U" 2>/dev/null || useradd -m "$U"
  elif command -v adduser >/dev/null 2>&1 && [ -s /etc/passwd ]; then adduser -D -u ${LOGIN_UID} "$U" 2>/dev/null || adduser -D "$U"
  else add_user_by_hand; fi
fi
# A locked account ("!") is refused by sshd even for key logins: mark it key-only instead.
if [ "$ROOT" = 1 ] && command -v usermod >/dev/null 2>&1; then usermod -p '*' "$U"; fi
H=$(grep "^$U:" /etc/passwd 2>/dev/null | cut -d: -f6 || true)
H=\${H:-\${HOME:-/tmp}}
`;

/** The init script's last line: PID 1's child becomes the SSH server. */
export function sshServerExec(server: SshServer): string {
  if (server === 'agent')
    return `chmod 0600 /.hangar/ssh_host_ed25519_key 2>/dev/null || true
exec ${AGENT_PATH} serve --config ${BOOT_PATHS.agent_config}
`;
  return `mkdir -p /run/sshd
chmod 0600 /.hangar/ssh_host_ed25519_key
exec /usr/sbin/sshd -D -e -f /.hangar/sshd_config
`;
}

/** /.hangar/agent.json: what hangar-agent serves (the same host key and authorized_keys sshd would use). */
export function agentConfig(
  user: string,
  envVars: Record<string, string>,
  port = SSH_PORT,
  statusKeys: string[] = [],
): BootFile {
  const content = JSON.stringify(
    {
      user,
      listen: `:${port}`,
      host_key: BOOT_PATHS.host_key,
      authorized_keys: BOOT_PATHS.authorized_keys,
      env: envVars,
      // The gateway's key for its status probe (agentSessions.ts): it may ask for the open sessions, nothing else.
      status_keys: statusKeys,
    },
    null,
    2,
  );
  return { path: BOOT_PATHS.agent_config, content: content + '\n', mode: 0o644, role: 'agent_config' };
}

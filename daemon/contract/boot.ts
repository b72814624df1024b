// Boot layout: what every environment looks like inside, whichever backend runs it. The gateway renders the files
// (environments/bootFiles.ts); backends place them and may need to know which is which (by role, never by path).

export const SSH_PORT = 22;
export const JUPYTER_PORT = 8888;
/** Xvnc's port inside a desktop environment (display :1). */
export const VNC_PORT = 5901;
export const RDP_PORT = 3389;

/** The login user's uid and gid in every environment (made so when the image leaves them free): directories Hangar
 *  makes on NFS shares are owned by these numbers, which must mean the same user in every env that mounts them. */
export const LOGIN_UID = 1000;
export const LOGIN_GID = 1000;

/** Where the boot files live inside an environment. */
export const BOOT_DIR = '/.hangar';

export type BootRole =
  | 'init'
  | 'sshd_config'
  | 'profile'
  | 'authorized_keys'
  | 'host_key'
  | 'host_key_pub'
  | 'jupyter_token'
  | 'vnc_password'
  | 'rdp_password'
  | 'agent_config';

export const BOOT_PATHS: Record<BootRole, string> = {
  init: `${BOOT_DIR}/init.sh`,
  sshd_config: `${BOOT_DIR}/sshd_config`,
  profile: `${BOOT_DIR}/profile.sh`,
  authorized_keys: `${BOOT_DIR}/authorized_keys`,
  host_key: `${BOOT_DIR}/ssh_host_ed25519_key`,
  host_key_pub: `${BOOT_DIR}/ssh_host_ed25519_key.pub`,
  jupyter_token: `${BOOT_DIR}/jupyter_token`,
  vnc_password: `${BOOT_DIR}/vnc_password`,
  rdp_password: `${BOOT_DIR}/rdp_password`,
  agent_config: `${BOOT_DIR}/agent.json`,
};
/** hangar-agent inside an env (ssh_server agent), and the version file the backends compare before copying it. */
export const AGENT_PATH = `${BOOT_DIR}/bin/hangar-agent`;
export const AGENT_VERSION_PATH = `${AGENT_PATH}.version`;
/** Where the agent writes its open sessions by kind (`hangar-agent status` prints it). */
export const AGENT_STATUS_PATH = '/tmp/hangar-agent-status.json';
export const INIT_PATH = BOOT_PATHS.init;
export const AUTHORIZED_KEYS_PATH = BOOT_PATHS.authorized_keys;

/** A file placed into the environment before its first start (bootstrap script, keys, config). */
export interface BootFile {
  path: string;
  content: string | Buffer;
  mode: number;
  role?: BootRole;
}

export const bootFileOf = (files: readonly BootFile[], role: BootRole): BootFile | undefined =>
  files.find((f) => f.role === role);

/** Where the gateway serves an env's Jupyter; Jupyter's base_url must match it. */
export const jupyterPath = (envId: string) => `/api/v1/environments/${envId}/jupyter/`;

/** What sshd and the bootstrap need (user creation, privilege separation, chroot); everything else is dropped. */
export const SSHD_CAPABILITIES = [
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'SETUID',
  'SETGID',
  'SYS_CHROOT',
  'AUDIT_WRITE',
  'KILL',
  'NET_BIND_SERVICE',
];

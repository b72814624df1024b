// What hangar-agent says is open in its env, by kind (shell, exec, sftp, forward). The gateway logs in with its own
// key as `hangar-status`, which the agent lets ask for the status and nothing else. Sessions that never pass the
// gateway's tunnel (JumpServer's KoKo, a published port, a VM's own network) count as activity this way.
import type { Duplex } from 'node:stream';
import { Client as SshClient } from 'ssh2';
import type { AgentStatus, Environment } from '../../common/model';
import { ed25519FromSeed } from '../../common/sshkeys';
import { SSH_PORT, type Backends } from '../contract';
import { hostVerifier } from '../backends/shared/sshHop';

export const STATUS_USER = 'hangar-status';
const TIMEOUT_MS = 5000;

export class AgentSessions {
  /** The authorized_keys line every agent config lists under status_keys. */
  readonly publicKey: string;
  private readonly privateKey: string;

  /** `seed`: 32 bytes derived from the gateway's secret, so every gateway sharing it has the same key. */
  constructor(
    private readonly backends: Backends,
    seed: Buffer,
  ) {
    const pair = ed25519FromSeed(seed, 'hangar-gateway-status');
    this.publicKey = pair.publicKey;
    this.privateKey = pair.privateKey;
  }

  /** The agent's status; null when the env runs no agent, isn't running, or doesn't answer in time. */
  async status(env: Environment): Promise<AgentStatus | null> {
    if (env.ssh_server !== 'agent' || env.status !== 'running' || !env.backend_ref) return null;
    const sock = await this.backends
      .get(env.backend_id)
      .openPort(env.backend_ref, SSH_PORT)
      .catch(() => null);
    if (!sock) return null;
    const out = await execStatus(sock, this.privateKey, env.host_key ?? undefined).catch(() => null);
    try {
      return out ? (JSON.parse(out) as AgentStatus) : null;
    } catch {
      return null;
    }
  }
}

/** Total sessions of a status (what makes the env active). */
export const openSessions = (s: AgentStatus | null): number =>
  s ? Object.values(s.sessions ?? {}).reduce((a, b) => a + (b > 0 ? b : 0), 0) : 0;

function execStatus(sock: Duplex, privateKey: string, hostKey: string | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = new SshClient();
    const timer = setTimeout(() => fail(new Error('agent status: timed out')), TIMEOUT_MS);
    const fail = (e: Error) => {
      clearTimeout(timer);
      c.end();
      sock.destroy();
      reject(e);
    };
    c.once('error', fail);
    c.once('ready', () =>
      c.exec('status', (err, ch) => {
        if (err) return fail(err);
        let out = '';
        ch.setEncoding('utf8');
        ch.on('data', (d: string) => (out += d));
        ch.once('close', () => {
          clearTimeout(timer);
          c.end();
          resolve(out);
        });
      }),
    );
    c.connect({
      sock,
      username: STATUS_USER,
      privateKey,
      hostVerifier: hostVerifier(hostKey),
      readyTimeout: TIMEOUT_MS,
    });
  });
}

// The asset address of a registered env: TCP endpoints on this gateway (jumpserver.asset_bind, ports from
// asset_port_range) that carry bytes to the env's sshd (and a desktop's xrdp and VNC server) through its backend, the
// same path the gateway's own tunnel takes. JumpServer (KoKo; Razor/Lion for RDP/VNC) logs in there with the hosted
// accounts' secrets; sshd, xrdp and the VNC server authenticate as always.
// Why not the backend's publish address: envs publish no SSH port (Docker, Kubernetes and KVM reach port 22 through
// the backend), and one endpoint kind works for every backend and survives restarts that change container IPs.
import net from 'node:net';
import { RDP_PORT, SSH_PORT, VNC_PORT } from '../contract';
import type { EnvironmentService } from '../environments/service';
import type { Logger } from '../log';
import type { JumpServerService } from './jumpserver';

export class JumpServerEndpoints {
  private readonly open = new Map<number, { key: string; server: net.Server }>();
  private timer?: NodeJS.Timeout;
  constructor(
    private readonly o: { jumpserver: JumpServerService; envs: EnvironmentService; bind: string; log: Logger },
  ) {}

  start(everyMs = 1000): void {
    void this.sync();
    this.timer = setInterval(() => void this.sync(), everyMs).unref();
  }

  /** Listeners for every registered env (SSH, and RDP/VNC for desktops), none for others. */
  async sync(): Promise<void> {
    const rows = (await this.o.jumpserver.d.repo.all()).filter((r) => r.asset_id);
    const want = new Map<number, { envId: string; target: number }>();
    for (const r of rows) {
      want.set(r.port, { envId: r.env_id, target: SSH_PORT });
      if (r.rdp_port !== null) want.set(r.rdp_port, { envId: r.env_id, target: RDP_PORT });
      if (r.vnc_port !== null) want.set(r.vnc_port, { envId: r.env_id, target: VNC_PORT });
    }
    const keyOf = (w: { envId: string; target: number }) => `${w.envId}:${w.target}`;
    for (const [port, l] of this.open) {
      const w = want.get(port);
      if (!w || keyOf(w) !== l.key) {
        l.server.close();
        this.open.delete(port);
      }
    }
    for (const [port, w] of want) if (!this.open.has(port)) this.listen(port, w.envId, w.target, keyOf(w));
  }

  private listen(port: number, envId: string, target: number, key: string): void {
    const server = net.createServer((sock) => void this.carry(sock, envId, target));
    server.on('error', (err) => this.o.log.warn({ port, env: envId, err: String(err) }, 'jumpserver endpoint'));
    server.listen(port, this.o.bind);
    this.open.set(port, { key, server });
  }

  private async carry(sock: net.Socket, envId: string, target: number): Promise<void> {
    try {
      const env = await this.o.jumpserver.d.envs.get(envId);
      const owner = env && (await this.o.jumpserver.d.users.get(env.owner_id));
      if (!env || !owner) throw new Error('no such environment');
      const up = await this.o.envs.openTunnel(owner, env.id, target, { audit: false, forJumpServer: true });
      sock.pipe(up).pipe(sock);
      const end = () => {
        sock.destroy();
        up.destroy();
      };
      sock.on('close', end).on('error', end);
      up.on('close', end).on('error', end);
    } catch (err) {
      this.o.log.debug({ env: envId, err: String(err) }, 'jumpserver endpoint: env not reachable');
      sock.destroy();
    }
  }

  close(): void {
    clearInterval(this.timer);
    for (const l of this.open.values()) l.server.close();
    this.open.clear();
  }
}

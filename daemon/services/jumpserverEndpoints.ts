// The asset address of a registered env: a TCP endpoint on this gateway (jumpserver.asset_bind, a port from
// asset_port_range) that carries bytes to the env's sshd through its backend, the same path the gateway's own
// tunnel takes. JumpServer (KoKo) logs in there with the hosted account's key; sshd authenticates as always.
// Why not the backend's publish address: envs publish no SSH port (Docker, Kubernetes and KVM reach port 22 through
// the backend), and one endpoint kind works for every backend and survives restarts that change container IPs.
import net from 'node:net';
import type { EnvironmentService } from '../environments/service';
import type { Logger } from '../log';
import type { JumpServerService } from './jumpserver';

export class JumpServerEndpoints {
  private readonly open = new Map<number, { envId: string; server: net.Server }>();
  private timer?: NodeJS.Timeout;
  constructor(
    private readonly o: { jumpserver: JumpServerService; envs: EnvironmentService; bind: string; log: Logger },
  ) {}

  start(everyMs = 1000): void {
    void this.sync();
    this.timer = setInterval(() => void this.sync(), everyMs).unref();
  }

  /** Listeners for every registered env, none for others. */
  async sync(): Promise<void> {
    const rows = (await this.o.jumpserver.d.repo.all()).filter((r) => r.asset_id);
    const want = new Map(rows.map((r) => [r.port, r.env_id]));
    for (const [port, l] of this.open)
      if (want.get(port) !== l.envId) {
        l.server.close();
        this.open.delete(port);
      }
    for (const [port, envId] of want) if (!this.open.has(port)) this.listen(port, envId);
  }

  private listen(port: number, envId: string): void {
    const server = net.createServer((sock) => void this.carry(sock, envId));
    server.on('error', (err) => this.o.log.warn({ port, env: envId, err: String(err) }, 'jumpserver endpoint'));
    server.listen(port, this.o.bind);
    this.open.set(port, { envId, server });
  }

  private async carry(sock: net.Socket, envId: string): Promise<void> {
    try {
      const env = await this.o.jumpserver.d.envs.get(envId);
      const owner = env && (await this.o.jumpserver.d.users.get(env.owner_id));
      if (!env || !owner) throw new Error('no such environment');
      const up = await this.o.envs.openTunnel(owner, env.id, 22, { audit: false, forJumpServer: true });
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

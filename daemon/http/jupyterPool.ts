// Upstream connections to envs' Jupyter, kept alive and reused (one keep-alive agent per env): a request through
// the gateway then costs one hop, not a new tunnel (and the backend's port lookup) each time. Access is still
// checked on every request before a pooled connection is used; an idle connection closes after IDLE_MS, so it
// counts as activity (lifecycle) no longer than that.
import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { User } from '../../common/model';
import { JUPYTER_PORT } from '../contract';
import type { EnvironmentService } from '../environments/service';

const IDLE_MS = 5_000;
const MAX_PER_ENV = 16;

type PooledSocket = Duplex & { hangarIdle?: NodeJS.Timeout };

class TunnelAgent extends http.Agent {
  constructor(private readonly open: () => Promise<Duplex>) {
    super({ keepAlive: true, maxSockets: MAX_PER_ENV, maxFreeSockets: MAX_PER_ENV });
    this.on('free', (s: PooledSocket) => {
      clearTimeout(s.hangarIdle);
      s.hangarIdle = setTimeout(() => s.destroy(), IDLE_MS);
      s.hangarIdle.unref();
    });
  }

  override createConnection(
    _o: unknown,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    this.open().then(
      (s) => callback!(null, s),
      (err: Error) => callback!(err, undefined as never),
    );
    return undefined;
  }

  // Tunnels need not be net.Sockets (SSH channels, port-forward streams): what the agent calls on its sockets is
  // made a no-op where missing, then the agent's own bookkeeping runs (it also drops its free-socket listeners).
  override keepSocketAlive(socket: Duplex): boolean {
    return (super.keepSocketAlive(shim(socket) as never) as unknown) !== false;
  }

  override reuseSocket(socket: Duplex, req: http.ClientRequest): void {
    clearTimeout((socket as PooledSocket).hangarIdle);
    super.reuseSocket(shim(socket) as never, req);
  }
}

function shim(socket: Duplex): Duplex {
  const s = socket as Duplex & Record<string, unknown>;
  for (const m of ['ref', 'unref', 'setKeepAlive', 'setTimeout']) if (typeof s[m] !== 'function') s[m] = () => socket;
  return socket;
}

export class JupyterPool {
  private readonly agents = new Map<string, { agent: TunnelAgent; user: User }>();
  constructor(private readonly envs: EnvironmentService) {}

  /** The env's agent; `user` (already allowed this env) is the one new tunnels are opened as. */
  agentFor(envId: string, user: User): http.Agent {
    let a = this.agents.get(envId);
    if (!a) {
      const entry: { agent: TunnelAgent; user: User } = {
        user,
        agent: new TunnelAgent(() => this.envs.openTunnel(entry.user, envId, JUPYTER_PORT, { audit: false })),
      };
      this.agents.set(envId, (a = entry));
    }
    a.user = user;
    return a.agent;
  }

  close(): void {
    for (const { agent } of this.agents.values()) agent.destroy();
    this.agents.clear();
  }
}

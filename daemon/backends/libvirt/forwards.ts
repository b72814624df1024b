// Host ports forwarded to a user-mode-networked VM: unique among every Hangar VM on the host.
import { ConflictError } from '../../errors';
import { portIsFree } from '../../hostPorts';
import { bootFileOf, JUPYTER_PORT, VNC_PORT, type EnvSpec } from '../../contract';
import type { Forward } from './domainXml';
import { GUEST_SSH_PORT, type LibvirtHost } from './host';

export class ForwardPorts {
  private lock: Promise<unknown> = Promise.resolve();
  /** Forward ports handed out but not yet in a defined domain's metadata. */
  private readonly reserved = new Set<number>();

  constructor(private readonly host: LibvirtHost) {}

  /** Host ports for the guest's SSH (always), Jupyter and the env's published ports. One allocation at a time in
   *  this process; ports stay reserved until release() (after the domain's metadata records them). */
  allocate(spec: EnvSpec, vncHostPort: number | null): Promise<Forward[]> {
    if (this.host.o.network !== 'user') return Promise.resolve([]);
    const run = () => this.pick(spec, vncHostPort);
    const p = this.lock.then(run, run);
    this.lock = p.catch(() => undefined);
    return p;
  }

  release(forwards: Forward[]): void {
    for (const f of forwards) this.reserved.delete(f.host);
  }

  private async used(vncHostPort: number | null): Promise<Set<number>> {
    const used = new Set<number>(this.reserved);
    // Every gateway's VMs on this host count: their forwards bind the same host addresses.
    for (const { meta } of await this.host.hangarDomains()) for (const f of meta.forwards) used.add(f.host);
    if (vncHostPort) used.add(vncHostPort);
    return used;
  }

  private async pick(spec: EnvSpec, vncHostPort: number | null): Promise<Forward[]> {
    const { forward_port_range: range, forward_address: address } = this.host.o;
    const used = await this.used(vncHostPort);
    const wanted: Forward[] = spec.ports
      .filter((p) => p.container_port !== VNC_PORT && p.host_port)
      .map((p) => ({ guest: p.container_port, host: p.host_port! }));
    for (const w of wanted) used.add(w.host);
    const guestPorts = [
      GUEST_SSH_PORT,
      ...(bootFileOf(spec.files, 'jupyter_token') ? [JUPYTER_PORT] : []),
      ...spec.ports.filter((p) => p.container_port !== VNC_PORT && !p.host_port).map((p) => p.container_port),
    ];
    let next = range.from;
    for (const guest of guestPorts) {
      if (wanted.some((w) => w.guest === guest)) continue;
      // Skip ports something else on this host already listens on (only checkable beside the gateway).
      while ((used.has(next) || (!this.host.ssh && !(await portIsFree(address, next)))) && next <= range.to) next++;
      if (next > range.to)
        throw new ConflictError(
          `no free forward port on backend '${this.host.id}' (range ${range.from}-${range.to} is full)`,
        );
      wanted.push({ guest, host: next });
      used.add(next);
    }
    for (const w of wanted) this.reserved.add(w.host);
    return wanted;
  }
}

// Backends by id; one factory per kind (docker, kubernetes, libvirt).
import type { Config } from '../config';
import { NotFoundError } from '../errors';
import type { Logger } from '../log';
import type { Backends, Driver } from '../contract';
import { DockerDriver } from './docker';
import type { KubernetesDriver as KubernetesDriverType } from './kubernetes';
import { LibvirtDriver } from './libvirt';

export class DriverRegistry implements Backends {
  private readonly drivers = new Map<string, Driver>();
  constructor(
    drivers: Driver[],
    readonly defaultId: string,
  ) {
    for (const d of drivers) this.drivers.set(d.id, d);
  }
  get(id: string): Driver {
    const d = this.drivers.get(id);
    if (!d) throw new NotFoundError('backend', id);
    return d;
  }
  has(id: string): boolean {
    return this.drivers.has(id);
  }
  all(): Driver[] {
    return [...this.drivers.values()];
  }
  async close(): Promise<void> {
    await Promise.all(this.all().map((d) => d.close()));
  }
}

export function driversFromConfig(cfg: Config, gatewayId: string, log: Logger): DriverRegistry {
  const drivers = cfg.backends.map((b): Driver => {
    if (b.kind === 'kubernetes') {
      // Loaded only where a Kubernetes backend is configured: @kubernetes/client-node alone is ~65 MiB of RSS.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { KubernetesDriver } = require('./kubernetes') as { KubernetesDriver: typeof KubernetesDriverType };
      return new KubernetesDriver({ ...b, gatewayId, log: log.child({ backend: b.id }) });
    }
    if (b.kind === 'libvirt') return new LibvirtDriver({ ...b, gatewayId, log: log.child({ backend: b.id }) });
    return new DockerDriver({ ...b, gatewayId, log: log.child({ backend: b.id }) });
  });
  return new DriverRegistry(drivers, cfg.default_backend ?? cfg.backends[0].id);
}

// Start, stop, delete and status of an env's domain.
import { NotFoundError } from '../../errors';
import type { BackendStatus } from '../../contract';
import { pollUntil } from '../shared/poll';
import type { ConsoleLog } from './consoleLog';
import type { LibvirtHost } from './host';

const unlessNotRunning = (err: unknown) => {
  if (!/not running/.test((err as Error).message)) throw err;
};

export class VmLifecycle {
  constructor(
    private readonly host: LibvirtHost,
    private readonly console: ConsoleLog,
  ) {}

  async start(ref: string): Promise<void> {
    await this.host.virsh.act(['start', ref]).catch((err) => {
      if (!/already active/.test((err as Error).message)) throw err;
    });
    this.host.startedAt.set(ref, Date.now());
  }

  /** ACPI shutdown, then destroy when the guest hasn't powered off in time. */
  async stop(ref: string, timeoutS: number): Promise<void> {
    const wait = Math.max(timeoutS, this.host.o.shutdown_timeout_s) * 1000;
    this.host.startedAt.delete(ref);
    if ((await this.host.domState(ref)).state !== 'running') return;
    await this.host.virsh.run(['shutdown', ref, '--mode', 'acpi']).catch(unlessNotRunning);
    const off = await pollUntil(async () => ((await this.host.domState(ref)).state !== 'running' ? true : undefined), {
      timeoutMs: wait,
      intervalMs: 500,
    });
    if (off) return;
    this.host.o.log.warn(
      { ref, backend: this.host.id },
      `guest did not power off within ${wait / 1000} s: destroying it`,
    );
    await this.host.virsh.run(['destroy', ref]).catch(unlessNotRunning);
  }

  /** Domain, overlay, seed, console log, snapshots and mdev instances: nothing of the env stays on the host. */
  async delete(ref: string): Promise<void> {
    const { virsh } = this.host;
    const meta = await this.host.meta(ref).catch(() => undefined);
    if (await this.host.domainExists(ref)) {
      await virsh.run(['destroy', ref]).catch(() => undefined);
      // Internal snapshots live inside the overlay (removed below); their metadata goes with the domain.
      await virsh.run(['undefine', ref, '--snapshots-metadata', '--managed-save', '--nvram']).catch((err) => {
        if (!(err instanceof NotFoundError)) throw err;
      });
    }
    for (const uuid of meta?.mdevs ?? []) {
      const name = (await virsh.run(['nodedev-list', '--cap', 'mdev', '--all']).catch(() => ''))
        .split('\n')
        .map((l) => l.trim())
        .find((n) => n.includes(uuid.replace(/-/g, '_')));
      if (name) {
        await virsh.run(['nodedev-destroy', name]).catch(() => undefined);
        await virsh.run(['nodedev-undefine', name]).catch(() => undefined);
      }
    }
    await this.host.removeVolumes(ref);
    this.host.metas.delete(ref);
    this.host.startedAt.delete(ref);
  }

  async inspect(ref: string): Promise<BackendStatus> {
    try {
      const st = await this.host.domState(ref);
      if (st.state === 'running') {
        // Under a hypervisor that can't run the guest (KVM offered but unusable) the VM "runs" and prints nothing.
        const since = this.host.startedAt.get(ref);
        const limit = this.host.o.silent_console_timeout_s;
        if (
          since &&
          Date.now() - since > limit * 1000 &&
          (await this.host.virtType()).type === 'kvm' &&
          (await this.console.size(ref)) === 0
        ) {
          return {
            state: 'failed',
            message: `the VM printed nothing on its serial console in ${limit} s under KVM: it hangs (on a host without usable KVM, e.g. nested virtualisation, set virt_type: qemu)`,
          };
        }
      }
      return st;
    } catch (err) {
      if (err instanceof NotFoundError) {
        // Volumes without a domain: a create cut short (recreated by the next provision).
        return (await this.host.hasVolumes(ref))
          ? { state: 'created', message: 'volumes without a domain' }
          : { state: 'missing' };
      }
      throw err;
    }
  }
}

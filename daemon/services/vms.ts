// What only VMs have: templates on libvirt hosts, and snapshots of an env's VM.
import type { Environment, Snapshot, User, VmTemplate } from '../../common/model';
import type { Driver } from '../drivers/driver';
import type { DriverRegistry } from '../drivers/registry';
import type { TemplateImport } from '../drivers/libvirt/templates';
import { ConflictError, InputError, NotFoundError, UnprocessableError } from '../errors';
import type { GpuService } from '../gpu/service';
import type { AuditRepo } from '../store/users';
import type { EnvironmentService } from './environments';

export const SNAPSHOT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export class VmService {
  constructor(private readonly o: { drivers: DriverRegistry; envs: EnvironmentService; gpus: GpuService; audit: AuditRepo }) {}

  private libvirt(backendId: string): Driver {
    const d = this.o.drivers.get(backendId);
    // Templates live on libvirt backends only: for another kind there is no such resource.
    if (!d.listTemplates) throw new NotFoundError('libvirt backend', backendId);
    return d;
  }

  /** Templates of every libvirt backend (or one); an unreachable host is skipped, not fatal to the list. */
  async templates(backendId?: string): Promise<VmTemplate[]> {
    const ds = backendId ? [this.libvirt(backendId)] : this.o.drivers.all().filter((d) => d.listTemplates);
    const lists = await Promise.all(ds.map((d) => (backendId ? d.listTemplates!() : d.listTemplates!().catch(() => []))));
    return lists.flat();
  }

  async importTemplate(actor: User, backendId: string, req: TemplateImport, signal?: AbortSignal): Promise<VmTemplate> {
    const t = await this.libvirt(backendId).importTemplate!(req, signal);
    await this.o.audit.record({ user_id: actor.id, action: 'template.import', target: `${backendId}/${t.name}`, detail: { os: t.os, firmware: t.firmware, bytes: t.disk_bytes } });
    return t;
  }

  async deleteTemplate(actor: User, backendId: string, name: string): Promise<void> {
    await this.libvirt(backendId).deleteTemplate!(name);
    await this.o.audit.record({ user_id: actor.id, action: 'template.delete', target: `${backendId}/${name}` });
  }

  // ---- snapshots -------------------------------------------------------------------------------------------

  private async vm(actor: User, idOrName: string): Promise<{ env: Environment; driver: Driver; ref: string }> {
    const env = await this.o.envs.get(actor, idOrName);
    const driver = this.o.drivers.get(env.backend_id);
    if (!driver.snapshots) throw new UnprocessableError(`snapshots are for VMs (deployment_mode vm); '${env.name}' runs on ${driver.kind} backend '${env.backend_id}'`);
    if (!env.backend_ref) throw new ConflictError(`environment '${env.name}' has no VM yet (${env.status})`);
    return { env, driver, ref: env.backend_ref };
  }

  async list(actor: User, idOrName: string): Promise<Snapshot[]> {
    const { driver, ref } = await this.vm(actor, idOrName);
    return driver.snapshots!(ref);
  }

  async create(actor: User, idOrName: string, name: string, description?: string): Promise<Snapshot> {
    if (!SNAPSHOT_NAME.test(name)) throw new InputError('name', 'name: letters, digits, ".", "_" and "-", up to 63, starting with a letter or digit');
    const { env, driver, ref } = await this.vm(actor, idOrName);
    if (!['running', 'stopped'].includes(env.status)) throw new ConflictError(`environment '${env.name}' is ${env.status}`);
    const s = await this.o.envs.exclusive(env.id, () => driver.snapshot!(ref, name, description));
    await this.o.audit.record({ user_id: actor.id, action: 'snapshot.create', target: env.id, detail: { name, state: s.state } });
    return s;
  }

  /** The VM returns to the snapshot: running (with its memory) or off, and the env's status and GPUs follow. */
  async revert(actor: User, idOrName: string, name: string): Promise<Environment> {
    const { env, driver, ref } = await this.vm(actor, idOrName);
    if (!['running', 'stopped'].includes(env.status)) throw new ConflictError(`environment '${env.name}' is ${env.status}`);
    return this.o.envs.exclusive(env.id, async () => {
      const snap = (await driver.snapshots!(ref)).find((s) => s.name === name);
      const willRun = snap?.state === 'running';
      if (willRun && env.status === 'stopped') await this.o.gpus.reacquire(env);
      await driver.revertSnapshot!(ref, name);
      const running = (await driver.inspect(ref)).state === 'running';
      if (!running && env.status === 'running') await this.o.gpus.release(env.id);
      await this.o.envs.setStatus(env, [env.status], running ? 'running' : 'stopped', `reverted to snapshot '${name}'`);
      await this.o.audit.record({ user_id: actor.id, action: 'snapshot.revert', target: env.id, detail: { name } });
      return this.o.envs.get(actor, env.id);
    });
  }

  async delete(actor: User, idOrName: string, name: string): Promise<void> {
    const { env, driver, ref } = await this.vm(actor, idOrName);
    await this.o.envs.exclusive(env.id, () => driver.deleteSnapshot!(ref, name));
    await this.o.audit.record({ user_id: actor.id, action: 'snapshot.delete', target: env.id, detail: { name } });
  }
}

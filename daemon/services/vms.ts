// What only VMs have: templates on libvirt hosts, and snapshots of an env's VM.
import type { Environment, Snapshot, User, VmTemplate } from '../../common/model';
import {
  capability,
  type Backends,
  type Driver,
  type SnapshotsCapability,
  type TemplateImport,
  type TemplatesCapability,
} from '../contract';
import { ConflictError, InputError, NotFoundError, UnprocessableError } from '../errors';
import type { GpuService } from '../gpu/service';
import type { AuditRepo } from '../store/users';
import type { EnvironmentService } from '../environments/service';

export const SNAPSHOT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export class VmService {
  constructor(
    private readonly o: { backends: Backends; envs: EnvironmentService; gpus: GpuService; audit: AuditRepo },
  ) {}

  private templateStore(backendId: string): TemplatesCapability {
    const d = this.o.backends.get(backendId);
    const t = capability(d, 'templates');
    // Templates live on libvirt backends only: for another kind there is no such resource.
    if (!t) throw new NotFoundError('libvirt backend', backendId);
    return t;
  }

  /** Templates of every libvirt backend (or one); an unreachable host is skipped, not fatal to the list. */
  async templates(backendId?: string): Promise<VmTemplate[]> {
    if (backendId) return this.templateStore(backendId).list();
    const stores = this.o.backends.all().flatMap((d) => capability(d, 'templates') ?? []);
    return (await Promise.all(stores.map((t) => t.list().catch(() => [])))).flat();
  }

  async importTemplate(actor: User, backendId: string, req: TemplateImport, signal?: AbortSignal): Promise<VmTemplate> {
    const t = await this.templateStore(backendId).import(req, signal);
    await this.o.audit.record({
      user_id: actor.id,
      action: 'template.import',
      target: `${backendId}/${t.name}`,
      detail: { os: t.os, firmware: t.firmware, bytes: t.disk_bytes },
    });
    return t;
  }

  async deleteTemplate(actor: User, backendId: string, name: string): Promise<void> {
    await this.templateStore(backendId).delete(name);
    await this.o.audit.record({ user_id: actor.id, action: 'template.delete', target: `${backendId}/${name}` });
  }

  // ---- snapshots -------------------------------------------------------------------------------------------

  private async vm(
    actor: User,
    idOrName: string,
  ): Promise<{ env: Environment; driver: Driver; snaps: SnapshotsCapability; ref: string }> {
    const env = await this.o.envs.get(actor, idOrName);
    const driver = this.o.backends.get(env.backend_id);
    const snaps = capability(driver, 'snapshots');
    if (!snaps)
      throw new UnprocessableError(
        `snapshots are for VMs (deployment_mode vm); '${env.name}' runs on ${driver.kind} backend '${env.backend_id}'`,
      );
    if (!env.backend_ref) throw new ConflictError(`environment '${env.name}' has no VM yet (${env.status})`);
    return { env, driver, snaps, ref: env.backend_ref };
  }

  async list(actor: User, idOrName: string): Promise<Snapshot[]> {
    const { snaps, ref } = await this.vm(actor, idOrName);
    return snaps.list(ref);
  }

  async create(actor: User, idOrName: string, name: string, description?: string): Promise<Snapshot> {
    if (!SNAPSHOT_NAME.test(name))
      throw new InputError(
        'name',
        'name: letters, digits, ".", "_" and "-", up to 63, starting with a letter or digit',
      );
    const { env, snaps, ref } = await this.vm(actor, idOrName);
    if (!['running', 'stopped'].includes(env.status))
      throw new ConflictError(`environment '${env.name}' is ${env.status}`);
    const s = await this.o.envs.exclusive(env.id, () => snaps.create(ref, name, description));
    await this.o.audit.record({
      user_id: actor.id,
      action: 'snapshot.create',
      target: env.id,
      detail: { name, state: s.state },
    });
    return s;
  }

  /** The VM returns to the snapshot: running (with its memory) or off, and the env's status and GPUs follow. */
  async revert(actor: User, idOrName: string, name: string): Promise<Environment> {
    const { env, driver, snaps, ref } = await this.vm(actor, idOrName);
    if (!['running', 'stopped'].includes(env.status))
      throw new ConflictError(`environment '${env.name}' is ${env.status}`);
    return this.o.envs.exclusive(env.id, async () => {
      const snap = (await snaps.list(ref)).find((s) => s.name === name);
      const willRun = snap?.state === 'running';
      if (willRun && env.status === 'stopped') await this.o.gpus.reacquire(env);
      await snaps.revert(ref, name);
      const running = (await driver.inspect(ref)).state === 'running';
      if (!running && env.status === 'running') await this.o.gpus.release(env.id);
      await this.o.envs.setStatus(env, [env.status], running ? 'running' : 'stopped', `reverted to snapshot '${name}'`);
      await this.o.audit.record({ user_id: actor.id, action: 'snapshot.revert', target: env.id, detail: { name } });
      return this.o.envs.get(actor, env.id);
    });
  }

  async delete(actor: User, idOrName: string, name: string): Promise<void> {
    const { env, snaps, ref } = await this.vm(actor, idOrName);
    await this.o.envs.exclusive(env.id, () => snaps.delete(ref, name));
    await this.o.audit.record({ user_id: actor.id, action: 'snapshot.delete', target: env.id, detail: { name } });
  }
}

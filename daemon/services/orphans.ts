// Objects with this gateway's labels and no row. The row is always written before an object is made and removed
// after it, so such an object comes from a restored database or another data dir: live work, never deleted
// automatically. An admin lists them, adopts one (its row rebuilt from the record it carries) or removes it.
import type { Orphan, User } from '../../common/model';
import type { Backends, Driver, ManagedObject } from '../contract';
import { BackendUnavailableError, ConflictError, InputError, NotFoundError, UnprocessableError } from '../errors';
import type { EnvironmentRepo } from '../store/environments';
import type { AuditRepo, UserRepo } from '../store/users';
import type { EventBus } from './events';
import type { Environment, EnvStatus } from '../../common/model';

const toOrphan = (d: Driver, o: ManagedObject): Orphan => ({
  ref: o.envId,
  backend_id: d.id,
  backend_ref: o.ref,
  state: o.state,
  name: o.record?.name,
  owner_id: o.record?.owner_id,
  image: o.record?.image,
  deployment_mode: o.record?.deployment_mode,
  adoptable: Boolean(o.record),
});

export class OrphanService {
  constructor(
    private readonly o: {
      backends: Backends;
      repo: EnvironmentRepo;
      users: UserRepo;
      audit: AuditRepo;
      events: EventBus;
    },
  ) {}

  /** Orphans on every reachable backend (an unreachable one is skipped: nothing can be said about it). */
  async list(): Promise<Orphan[]> {
    return (await this.found()).map(({ d, obj }) => toOrphan(d, obj));
  }

  async adopt(actor: User, ref: string, opts: { owner?: string } = {}): Promise<Environment> {
    const { d, obj } = await this.find(ref);
    const rec = obj.record;
    if (!rec)
      throw new UnprocessableError(
        `orphan '${ref}' carries no record to rebuild a row from (made before records, or not by Hangar); remove it instead`,
      );
    const owner = opts.owner ? await this.o.users.byName(opts.owner) : await this.o.users.get(rec.owner_id);
    if (!owner) {
      throw opts.owner
        ? new InputError('owner', `owner: no user '${opts.owner}'`)
        : new InputError(
            'owner',
            `owner: its owner (user id ${rec.owner_id}) is not in this database; name a user to adopt it`,
          );
    }
    if (await this.o.repo.findByName(owner.id, rec.name))
      throw new ConflictError(`user '${owner.name}' already has an environment '${rec.name}'`);
    const status: EnvStatus = obj.state === 'running' ? 'running' : obj.state === 'failed' ? 'failed' : 'stopped';
    const env = await this.o.repo.insert({
      ...rec,
      // Records made before ssh_server existed were of envs running the image's sshd.
      ssh_server: rec.ssh_server ?? 'image',
      id: obj.envId,
      owner_id: owner.id,
      backend_id: d.id,
      backend_ref: obj.ref,
      env_vars: {},
      env_vars_from_secrets: {},
      status,
      status_message: 'adopted after a restore',
      // Secrets aren't in the record: they stay in the env's own files, unknown to this row.
      jupyter_token: null,
      vnc_password: null,
      rdp_password: null,
    });
    await this.o.audit.record({
      user_id: actor.id,
      action: 'orphan.adopt',
      target: env.id,
      detail: { backend: d.id, name: env.name, owner: owner.name },
    });
    this.o.events.publish({
      type: 'environment.created',
      environment_id: env.id,
      owner_id: env.owner_id,
      status: env.status,
    });
    return env;
  }

  async remove(actor: User, ref: string): Promise<void> {
    const { d, obj } = await this.find(ref);
    await d.delete(obj.ref);
    await this.o.audit.record({
      user_id: actor.id,
      action: 'orphan.remove',
      target: ref,
      detail: { backend: d.id, backend_ref: obj.ref },
    });
  }

  private async find(ref: string): Promise<{ d: Driver; obj: ManagedObject }> {
    const hit = (await this.found()).find((x) => x.obj.envId === ref);
    if (!hit) throw new NotFoundError('orphan', ref);
    return hit;
  }

  private async found(): Promise<{ d: Driver; obj: ManagedObject }[]> {
    const out: { d: Driver; obj: ManagedObject }[] = [];
    const known = new Set((await this.o.repo.list()).map((r) => r.id));
    for (const d of this.o.backends.all()) {
      let objects: ManagedObject[];
      try {
        objects = await d.list();
      } catch (err) {
        if (err instanceof BackendUnavailableError) continue;
        throw err;
      }
      for (const obj of objects) if (obj.envId && !known.has(obj.envId)) out.push({ d, obj });
    }
    return out;
  }
}

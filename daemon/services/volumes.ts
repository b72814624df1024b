// Volumes as owned objects (a user's or a team's), made and removed on purpose, with quotas; and what a user may
// mount (GET /storage). Another user's volume is a 404, like another user's env.
import { ownerFor } from './owners';
import crypto from 'node:crypto';
import type { Kysely } from 'kysely';
import type { StorageOverview, User, Volume, VolumeState } from '../../common/model';
import type { CreateVolumeInput } from '../../common/schemas';
import type { HostPathConfig } from '../config';
import { LABELS, capability, type Backends } from '../contract';
import { ConflictError, InputError, NotFoundError, UnprocessableError } from '../errors';
import type { ShareConfig, VolumeQuotas } from '../storageConfig';
import { checkVolumeQuota } from '../storageQuota';
import type { AuditRepo } from '../store/users';
import type { Database } from '../store/schema';
import { backendVolumeName, mountedBy, VolumeRepo, type VolumeOwner } from '../store/volumes';

export interface VolumeServiceOptions {
  db: Kysely<Database>;
  backends: Backends;
  audit: AuditRepo;
  gatewayId: string;
  quotas: VolumeQuotas;
  shares: ShareConfig[];
  hostPaths: HostPathConfig[];
}

const listed = (users: string[], teams: string[], u: User) =>
  users.includes('*') || users.includes(u.name) || (!!u.team && teams.includes(u.team));

export class VolumeService {
  private readonly repo: VolumeRepo;
  constructor(private readonly o: VolumeServiceOptions) {
    this.repo = new VolumeRepo(o.db);
  }

  async list(actor: User): Promise<Volume[]> {
    const vols = await this.repo.list(actor.role === 'admin' ? {} : { owner_id: actor.id, team: actor.team ?? null });
    const states = await this.statesOf(vols);
    return Promise.all(vols.map(async (v) => ({ ...v, ...states(v), mounted_by: await mountedBy(this.o.db, v.id) })));
  }

  /** The caller's own or team's volume (admins: any); 404 otherwise. */
  async get(actor: User, id: string): Promise<Volume> {
    const v = await this.repo.get(id);
    const mine = v && (actor.role === 'admin' || v.owner_id === actor.id || (!!v.team && v.team === actor.team));
    if (!v || !mine) throw new NotFoundError('volume', id);
    const states = await this.statesOf([v]);
    return { ...v, ...states(v), mounted_by: await mountedBy(this.o.db, v.id) };
  }

  /** What the volumes' backends say of them now (one call per backend that can say; an unreachable one: nothing). */
  private async statesOf(vols: Volume[]): Promise<(v: Volume) => Pick<Volume, 'state'>> {
    const byBackend = new Map<string, Map<string, VolumeState> | undefined>();
    for (const b of new Set(vols.map((v) => v.backend_id))) {
      const cap = this.o.backends.has(b) ? capability(this.o.backends.get(b), 'volumes') : undefined;
      byBackend.set(b, await cap?.states?.().catch(() => undefined));
    }
    return (v) => {
      const m = byBackend.get(v.backend_id);
      return m ? { state: m.get(v.backend_name) ?? { phase: 'missing' } } : {};
    };
  }

  async create(actor: User, req: CreateVolumeInput): Promise<Volume> {
    const backendId = req.backend_id ?? this.o.backends.defaultId;
    if (!this.o.backends.has(backendId)) throw new InputError('backend_id', `backend_id: no backend '${backendId}'`);
    const vols = capability(this.o.backends.get(backendId), 'volumes');
    const asked = (['storage_class', 'access_modes', 'ceph'] as const).find((k) => req[k] !== undefined);
    if (asked && !vols?.claims)
      throw new InputError(
        asked,
        `${asked}: backend '${backendId}' has no storage classes (volumes there are not Kubernetes claims)`,
      );
    const size = req.size_gb ?? vols?.claims?.defaultSizeGb;
    const owner = ownerFor(actor, req.team);
    if (await this.repo.find(owner, backendId, req.name))
      throw new ConflictError(`volume '${req.name}' already exists on backend '${backendId}'`);
    await checkVolumeQuota(this.o.db, this.o.quotas, owner, size ?? 0);
    const id = crypto.randomUUID();
    // Made on the backend first: a failure there leaves no row. Backends without the capability make it on first use.
    await vols?.create(backendVolumeName(id), this.labels(backendId, actor, owner), size, {
      storageClass: req.storage_class,
      accessModes: req.access_modes,
      ceph: req.ceph,
      team: owner.team ?? actor.team ?? null,
    });
    try {
      const v = await this.repo.insert({
        id,
        name: req.name,
        backend_id: backendId,
        size_gb: size ?? null,
        storage_class: req.storage_class ?? null,
        access_modes: req.access_modes ?? null,
        ceph: req.ceph ?? null,
        ...owner,
      });
      await this.o.audit.record({ user_id: actor.id, action: 'volume.create', target: id, detail: { name: req.name } });
      return { ...v, mounted_by: [] };
    } catch (err) {
      await vols?.remove(backendVolumeName(id)).catch(() => undefined);
      if (/UNIQUE constraint failed: volumes/.test(String(err)))
        throw new ConflictError(`volume '${req.name}' already exists on backend '${backendId}'`);
      throw err;
    }
  }

  /** Refused with 409 naming the envs while any env (any status) mounts it. */
  async remove(actor: User, id: string): Promise<void> {
    const v = await this.get(actor, id);
    if (v.mounted_by?.length)
      throw new ConflictError(
        `volume '${v.name}' is mounted by ${v.mounted_by.map((e) => `'${e.name}' (${e.id})`).join(', ')}; delete those environments first`,
      );
    const drv = this.o.backends.has(v.backend_id) ? this.o.backends.get(v.backend_id) : undefined;
    await (drv && capability(drv, 'volumes'))?.remove(v.backend_name);
    await this.repo.delete(id);
    await this.o.audit.record({ user_id: actor.id, action: 'volume.delete', target: id, detail: { name: v.name } });
  }

  /** Grows a volume where its backend can resize (422 naming the backends that can otherwise). */
  async resize(actor: User, id: string, sizeGb: number): Promise<Volume> {
    const v = await this.get(actor, id);
    if (v.size_gb !== null && sizeGb < v.size_gb)
      throw new InputError(
        'size_gb',
        `size_gb: ${sizeGb} is smaller than the volume's ${v.size_gb} GB (shrinking is refused)`,
      );
    const vols = this.o.backends.has(v.backend_id)
      ? capability(this.o.backends.get(v.backend_id), 'volumes')
      : undefined;
    if (!vols?.resize) {
      const can = this.o.backends
        .all()
        .filter((d) => capability(d, 'volumes')?.resize)
        .map((d) => d.id);
      throw new UnprocessableError(
        `backend '${v.backend_id}' can't resize volumes (backends that can: ${can.length ? can.join(', ') : 'none'})`,
      );
    }
    await this.refuseWhileRunning(v);
    await checkVolumeQuota(
      this.o.db,
      this.o.quotas,
      v.owner_id ? { owner_id: v.owner_id } : { team: v.team! },
      sizeGb - (v.size_gb ?? 0),
      true,
    );
    await vols.resize(v.backend_name, sizeGb);
    await this.repo.setSize(id, sizeGb);
    return this.get(actor, id);
  }

  /** A disk a running VM (or any env not stopped) has open is not resized under it: 409 naming those envs. */
  private async refuseWhileRunning(v: Volume): Promise<void> {
    const ids = (v.mounted_by ?? []).map((e) => e.id);
    if (!ids.length) return;
    const live = await this.o.db
      .selectFrom('environments')
      .select(['id', 'name', 'status'])
      .where('id', 'in', ids)
      .where('status', 'not in', ['stopped', 'failed', 'missing'])
      .orderBy('name')
      .execute();
    if (live.length)
      throw new ConflictError(
        `volume '${v.name}' is attached to ${live.map((e) => `'${e.name}' (${e.id}, ${e.status})`).join(', ')}; stop those environments to resize it`,
      );
  }

  /** What the caller may mount: their volumes and their team's, the shares and host paths listed for them. */
  async storage(actor: User): Promise<StorageOverview> {
    const volumes = await this.list(actor.role === 'admin' ? { ...actor, role: 'user' } : actor);
    const shares = this.o.shares
      .filter((s) => listed(s.users, s.teams, actor))
      .map((s) => ({ name: s.name, kind: s.kind, read_only: s.read_only, sub_directories: s.sub_directories }));
    const hostPaths = this.o.hostPaths
      .filter((h) => listed(h.users, h.teams, actor))
      .map((h) => ({ name: h.name, read_only: h.read_only }));
    return { volumes, shares, host_paths: hostPaths };
  }

  private labels(backendId: string, actor: User, owner: VolumeOwner): Record<string, string> {
    return {
      [LABELS.managed]: 'true',
      [LABELS.gateway]: this.o.gatewayId,
      [LABELS.backend]: backendId,
      [LABELS.owner]: owner.owner_id ?? `team:${owner.team}`,
      'dev.hangar.created-by': actor.id,
    };
  }
}

// What snapshots and backups need to know about a volume beyond its row: who may touch it (the volume service's own
// rule: another user's is a 404), which envs hold it now, which image a Docker helper can be made from, and a new
// volume row for a restore (quota checked; the backend object is made by the caller).
import crypto from 'node:crypto';
import type { Kysely } from 'kysely';
import type { User, Volume } from '../../common/model';
import { LABELS } from '../contract';
import { ConflictError } from '../errors';
import type { VolumeService } from '../services/volumes';
import { checkVolumeQuota } from '../storageQuota';
import type { VolumeQuotas } from '../storageConfig';
import type { Database } from '../store/schema';
import { mountedBy, VolumeRepo, type VolumeOwner } from '../store/volumes';

/** Statuses in which an env does not hold its volumes (their data may be replaced). */
export const AT_REST = ['stopped', 'failed', 'missing'];

export class VolumeAccess {
  private readonly repo: VolumeRepo;
  constructor(
    private readonly o: { db: Kysely<Database>; volumes: VolumeService; quotas: VolumeQuotas; gatewayId: string },
  ) {
    this.repo = new VolumeRepo(o.db);
  }

  get(actor: User, id: string): Promise<Volume> {
    return this.o.volumes.get(actor, id);
  }

  /** 409 naming the envs that hold it (any status but stopped, failed or missing). */
  async refuseIfInUse(v: Volume, why: string): Promise<void> {
    const envs = await mountedBy(this.o.db, v.id);
    if (!envs.length) return;
    const rows = await this.o.db
      .selectFrom('environments')
      .select(['id', 'name', 'status'])
      .where(
        'id',
        'in',
        envs.map((e) => e.id),
      )
      .execute();
    const busy = rows.filter((r) => !AT_REST.includes(r.status));
    if (busy.length)
      throw new ConflictError(
        `volume '${v.name}' is mounted by ${busy.map((e) => `'${e.name}' (${e.status})`).join(', ')}: stop it before ${why}`,
      );
  }

  /** Images a helper can be made from: those of the envs that mount it, then any env's on that backend. */
  async helperImages(v: Volume): Promise<string[]> {
    const mounting = new Set((await mountedBy(this.o.db, v.id)).map((e) => e.id));
    const rows = await this.o.db
      .selectFrom('environments')
      .select(['id', 'image'])
      .where('backend_id', '=', v.backend_id)
      .orderBy('created_at', 'desc')
      .execute();
    const first = rows.filter((r) => mounting.has(r.id)).map((r) => r.image);
    return [...new Set([...first, ...rows.map((r) => r.image)])].filter(Boolean);
  }

  /** A row for a volume restored from `source`: same owner and backend; 409 on a taken name. */
  async newRow(actor: User, source: Volume, name: string): Promise<Volume> {
    const owner: VolumeOwner = source.team ? { team: source.team } : { owner_id: source.owner_id ?? actor.id };
    if (await this.repo.find(owner, source.backend_id, name))
      throw new ConflictError(`volume '${name}' already exists on backend '${source.backend_id}'`);
    await checkVolumeQuota(this.o.db, this.o.quotas, owner, source.size_gb ?? 0);
    return this.repo.insert({
      id: crypto.randomUUID(),
      name,
      backend_id: source.backend_id,
      size_gb: source.size_gb,
      ...owner,
    });
  }

  /** The labels a restored volume's backend object carries (whose it is, made by this gateway). */
  labels(v: Volume, actor: User): Record<string, string> {
    return {
      [LABELS.managed]: 'true',
      [LABELS.gateway]: this.o.gatewayId,
      [LABELS.backend]: v.backend_id,
      [LABELS.owner]: v.owner_id ?? `team:${v.team}`,
      'dev.hangar.created-by': actor.id,
    };
  }

  async dropRow(id: string): Promise<void> {
    await this.repo.delete(id);
  }
}

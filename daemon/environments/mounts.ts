// storage_config mounts → what a backend may be given. Users name things (their volumes, the operator's host_paths
// entries); the gateway turns names into backend volume names derived from ids and into the operator's own paths.
import crypto from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Mount, User } from '../../common/model';
import type { HostPathConfig } from '../config';
import type { ShareConfig, VolumeQuotas } from '../storageConfig';
import { checkVolumeQuota } from '../storageQuota';
import { planShare, shareSpec } from './shares';
import type { DatasetSource, SpecMount } from '../contract';
import { ConflictError, ForbiddenError, InputError, NotFoundError, UnprocessableError } from '../errors';
import type { Database } from '../store/schema';
import { backendVolumeName, VolumeRepo, type NewVolume, type VolumeOwner } from '../store/volumes';

/** One checked mount: what the row keeps, what the backend gets, and a volume to record on first use. */
export interface PlannedMount {
  stored: Mount;
  spec: SpecMount;
  newVolume?: NewVolume;
}

/** Datasets for mounts (services/datasets.ts resolves, environments/datasetMounts.ts mounts on the gateway's host,
 *  datasetAccess.ts scopes credentials for envs that mount themselves): which backends can. */
export interface DatasetMountSource {
  /** The caller's own or team's dataset by NAME, team:NAME or id:ID; 404 otherwise. */
  forMount(actor: User, ref: string): Promise<{ id: string; name: string; store: string }>;
  /** The host directory a mount's FUSE file system is at (bound into the container). */
  dir(envId: string, n: number): string;
  /** Backends whose containers run on this gateway's host (where the daemon mounts). */
  backends: readonly string[];
  /** Backends whose envs reach the store themselves (VMs; Kubernetes with a dataset_sync_image). */
  guestBackends: readonly string[];
  /** Why a store's datasets can't go to such envs (it can't scope credentials and the operator didn't opt in). */
  refusal(store: string): string | undefined;
}

export class MountPolicy {
  private readonly hostPaths: HostPathConfig[];
  private readonly db: Kysely<Database>;
  private readonly shares: ShareConfig[];
  private readonly quotas?: VolumeQuotas;
  private readonly datasets?: DatasetMountSource;
  constructor(o: {
    hostPaths: HostPathConfig[];
    db: Kysely<Database>;
    shares?: ShareConfig[];
    quotas?: VolumeQuotas;
    datasets?: DatasetMountSource;
  }) {
    this.datasets = o.datasets;
    this.hostPaths = o.hostPaths;
    this.db = o.db;
    this.shares = o.shares ?? [];
    this.quotas = o.quotas;
  }

  /** May `user` mount this entry? Admins too must be listed: the allowlist is the operator's, not a role's. */
  static allows(h: HostPathConfig, user: Pick<User, 'name' | 'team'>): boolean {
    return h.users.includes('*') || h.users.includes(user.name) || (!!user.team && h.teams.includes(user.team));
  }

  /** Checks every mount for `actor` on `backendId`. 403 for host paths outside the allowlist, 404 for volumes
   *  the caller may not use (like another user's env). Writes nothing: commit() records new volumes. */
  async plan(actor: User, backendId: string, mounts: Mount[]): Promise<PlannedMount[]> {
    const volumes = new VolumeRepo(this.db);
    const out: PlannedMount[] = [];
    for (const [i, m] of mounts.entries()) {
      const field = `storage_config.mounts.${i}`;
      if (m.type === 'bind') {
        throw new ForbiddenError(
          `${field}: raw host paths are refused (rule host_paths: only directories the operator lists in host_paths may be mounted, by name: {type: host_path, source: NAME})`,
          { rule: 'host_paths', field },
        );
      }
      if (m.type === 'host_path') out.push(this.planHostPath(actor, m, field));
      else if (m.type === 'dataset') out.push(await this.planDataset(actor, backendId, m, field, i));
      else if (m.type === 'share') {
        const stored = planShare(this.shares, actor, m, field);
        out.push({ stored, spec: shareSpec(this.shares, stored, 'preview') });
      } else out.push(await planVolume(volumes, actor, backendId, m, field));
    }
    checkDistinctTargets(out);
    return out;
  }

  /** A host_paths entry by name: the user must be on its allowlist, and may not make a read-only one writable. */
  private planHostPath(actor: User, m: Mount, field: string): PlannedMount {
    const h = this.hostPaths.find((x) => x.name === m.source);
    if (!h || !MountPolicy.allows(h, actor)) {
      throw new ForbiddenError(
        `${field}.source: '${m.source}' is not a host_paths entry user '${actor.name}' may use (rule host_paths)`,
        { rule: 'host_paths', field: `${field}.source` },
      );
    }
    if (h.read_only && m.read_only === false) {
      throw new ForbiddenError(`${field}.read_only: host path '${h.name}' is read-only (rule host_paths.read_only)`, {
        rule: 'host_paths.read_only',
        field: `${field}.read_only`,
      });
    }
    const readOnly = m.read_only ?? h.read_only;
    return {
      stored: { type: 'host_path', source: h.name, target: m.target, read_only: readOnly },
      spec: { type: 'bind', source: h.path, target: m.target, read_only: readOnly },
    };
  }

  /** A dataset by name (own, team:NAME, id:ID): another's is a 404. Docker engines on the gateway's host get a bind of
   *  the daemon's mount; VMs and pods mount it themselves, with credentials scoped to it where the store can. */
  private async planDataset(actor: User, backendId: string, m: Mount, field: string, i: number) {
    const d = this.datasets;
    const host = d?.backends.includes(backendId);
    if (!d || (!host && !d.guestBackends.includes(backendId)))
      throw new InputError(
        `${field}.type`,
        `${field}.type: backend '${backendId}' can't mount datasets (backends that can: ${[...(d?.backends ?? []), ...(d?.guestBackends ?? [])].join(', ') || 'none'}; Docker engines on the gateway's host, libvirt, Kubernetes with a dataset_sync_image)`,
      );
    const ds = await d.forMount(actor, m.source);
    const refused = host ? undefined : d.refusal(ds.store);
    if (refused) throw new InputError(`${field}.source`, `${field}.source: ${refused}`);
    const stored: Mount = { type: 'dataset', source: m.source, target: m.target, read_only: m.read_only ?? false };
    return {
      stored: { ...stored, dataset_id: ds.id },
      spec: {
        type: host ? ('bind' as const) : ('dataset' as const),
        source: `(dataset ${ds.name}, mount ${i})`,
        target: m.target,
        read_only: stored.read_only,
      },
    };
  }

  /** Records the volumes this create uses first (in the create's transaction). */
  async commit(trx: Kysely<Database>, plan: PlannedMount[]): Promise<void> {
    const repo = new VolumeRepo(trx);
    const made = new Map<string, string>();
    for (const p of plan) {
      if (!p.newVolume) continue;
      const key = `${p.newVolume.owner_id ?? 'team:' + p.newVolume.team}/${p.newVolume.name}`;
      if (made.has(key))
        throw new InputError(
          'storage_config.mounts',
          `storage_config.mounts: volume '${p.stored.source}' is mounted twice`,
        );
      made.set(key, p.newVolume.id);
      const { owner_id, team } = p.newVolume;
      if (this.quotas)
        await checkVolumeQuota(trx, this.quotas, owner_id ? { owner_id } : { team: team! }, p.newVolume.size_gb ?? 0);
      try {
        await repo.insert(p.newVolume);
      } catch (err) {
        if (/UNIQUE constraint failed: volumes/.test(String(err)))
          throw new ConflictError(`volume '${p.stored.source}' was just created by another request; try again`);
        throw err;
      }
    }
  }

  /** A row's stored mounts → the backend's, at provisioning. The operator's list is read again: an entry removed
   *  since the create is refused, and one made read-only since is mounted read-only. */
  toSpec(mounts: Mount[], envId: string, datasets?: ReadonlyMap<number, DatasetSource>): SpecMount[] {
    return mounts.map((m, n) => {
      if (m.type === 'share') return shareSpec(this.shares, m, envId);
      const dataset = datasets?.get(n);
      if (m.type === 'dataset' && dataset)
        return { type: 'dataset', source: `dataset-${n}`, target: m.target, read_only: m.read_only, dataset };
      if (m.type === 'dataset' && this.datasets)
        return { type: 'bind', source: this.datasets.dir(envId, n), target: m.target, read_only: m.read_only };
      if (m.type === 'volume' && m.volume_id)
        return {
          type: 'volume',
          source: backendVolumeName(m.volume_id),
          target: m.target,
          read_only: m.read_only,
          ...(m.size_gb ? { size_gb: m.size_gb } : {}),
          claim: claimOf(m),
        };
      if (m.type === 'host_path') {
        const h = this.hostPaths.find((x) => x.name === m.source);
        if (!h) throw new UnprocessableError(`host path '${m.source}' is no longer in the gateway's host_paths`);
        return { type: 'bind', source: h.path, target: m.target, read_only: m.read_only || h.read_only };
      }
      // Rows from before volumes were owned objects (or a raw bind) are not handed to a backend as they are.
      throw new UnprocessableError(
        `mount of '${m.target}' was recorded before volumes were owned objects; recreate the environment`,
      );
    });
  }
}

/** A volume by id:ID (the caller's or their team's, on this backend), team:NAME or NAME; a name not found yet
 *  becomes a new volume, recorded by commit(). */
async function planVolume(
  volumes: VolumeRepo,
  actor: User,
  backendId: string,
  m: Mount,
  field: string,
): Promise<PlannedMount> {
  const [kind, name] = m.source.startsWith('team:')
    ? ['team', m.source.slice(5)]
    : m.source.startsWith('id:')
      ? ['id', m.source.slice(3)]
      : ['own', m.source];
  let vol;
  let newVolume: PlannedMount['newVolume'];
  if (kind === 'id') {
    vol = await volumes.get(name);
    const mine = vol && (vol.owner_id === actor.id || (vol.team !== null && vol.team === actor.team));
    if (!vol || !mine) throw new NotFoundError('volume', m.source);
    if (vol.backend_id !== backendId)
      throw new InputError(
        `${field}.source`,
        `${field}.source: volume '${m.source}' is on backend '${vol.backend_id}', not '${backendId}'`,
      );
  } else {
    if (kind === 'team' && !actor.team) throw new NotFoundError('volume', m.source);
    const owner: VolumeOwner = kind === 'team' ? { team: actor.team! } : { owner_id: actor.id };
    vol = await volumes.find(owner, backendId, name);
    if (!vol)
      newVolume = {
        id: crypto.randomUUID(),
        name,
        backend_id: backendId,
        size_gb: m.size_gb ?? null,
        storage_class: m.storage_class ?? null,
        access_modes: m.access_modes ?? null,
        ceph: m.ceph ?? null,
        ...owner,
      };
  }
  const asked = (['storage_class', 'access_modes', 'ceph'] as const).find((k) => m[k] !== undefined);
  if (vol && asked)
    throw new InputError(
      `${field}.${asked}`,
      `${field}.${asked}: volume '${m.source}' exists already; ${asked} is for a volume this mount makes`,
    );
  const id = vol?.id ?? newVolume!.id;
  const size = vol ? (vol.size_gb ?? undefined) : m.size_gb;
  return {
    stored: { ...m, volume_id: id },
    spec: {
      type: 'volume',
      source: backendVolumeName(id),
      target: m.target,
      read_only: m.read_only,
      ...(size ? { size_gb: size } : {}),
      claim: claimOf(m),
    },
    newVolume,
  };
}

/** What a Kubernetes claim made for this mount asks for (nothing given: the backend's defaults). */
function claimOf(m: Mount): SpecMount['claim'] {
  return { storageClass: m.storage_class, accessModes: m.access_modes, ceph: m.ceph, sizeGb: m.size_gb };
}

/** Two mounts on one target would hide one of them: refused, naming the second. */
function checkDistinctTargets(planned: PlannedMount[]): void {
  const targets = planned.map((p) => p.stored.target);
  const dup = targets.findIndex((t, i) => targets.indexOf(t) !== i);
  if (dup >= 0)
    throw new InputError(
      `storage_config.mounts.${dup}.target`,
      `storage_config.mounts.${dup}.target: '${targets[dup]}' is mounted twice`,
    );
}

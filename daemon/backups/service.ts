// Backups of an env's data (its home directory and the volumes it mounts) or of one volume, by the backend's method
// (methods.ts): Docker tar archives (here), VM disk images (diskItems.ts), Kubernetes VolumeSnapshots (claimItems.ts).
// A Docker item is a tar archive in the backup store with its size and SHA-256. The backup row is `running` until every item is written, then
// `complete` with its items in one transaction; any failure marks it `failed` with the reason and removes what was
// written. Retention keeps the newest N complete backups of a target that has a schedule. Restore checks each
// archive's checksum and reads it through before it touches the env (which must be stopped) or the volume (not held
// by a running env), then makes the home and volumes exactly as backed up.
import crypto from 'node:crypto';
import { basename } from 'node:path';
import type { Environment, User, Volume } from '../../common/model';
import type { Backup, BackupTargetKind, RunBackupInput } from '../../common/snapshots';
import { capability, type Backends, type EnvDataObject, type VolumeArchiveCapability } from '../contract';
import { ConflictError, NotFoundError } from '../errors';
import type { Logger } from '../log';
import type { ArchiveStore, Written } from '../snapshots/archiveStore';
import { readFile } from '../snapshots/service';
import { checkTar } from '../snapshots/tarCheck';
import { AT_REST, type VolumeAccess } from '../snapshots/volumeAccess';
import type { BackupRepo, BackupRow } from '../store/backups';
import type { BackupItemsTable } from '../store/schema';
import type { AuditRepo } from '../store/users';
import { restoreClaims, writeClaims } from './claimItems';
import { restoreDisks, writeDisks } from './diskItems';
import { dropItem, itemKind, itemRow, methodFor, type Method } from './methods';

export interface BackupDeps {
  repo: BackupRepo;
  backends: Backends;
  volumes: VolumeAccess;
  envs: { get(actor: User, idOrName: string): Promise<Environment> };
  archives?: ArchiveStore;
  audit: AuditRepo;
  log: Logger;
  now: () => number;
}

/** What one backup archives: the env's home (Docker: /home/<user> in its container) and volumes, or one volume. */
interface Plan {
  kind: BackupTargetKind;
  id: string;
  backendId: string;
  home?: { ref: string; path: string };
  volumes: Volume[];
  env?: Environment;
}

function publicOf(b: BackupRow): Backup {
  const { owner_id: _o, items, ...rest } = b;
  return { ...rest, items: items.map(({ object_key: k, ...i }) => ({ ...i, kind: itemKind(k) })) };
}

export class BackupService {
  constructor(private readonly o: BackupDeps) {}

  private iso(): string {
    return new Date(this.o.now()).toISOString();
  }

  async list(actor: User, q: { environment?: string; volume?: string }): Promise<Backup[]> {
    const t = q.environment || q.volume ? await this.target(actor, q) : undefined;
    const rows = await this.o.repo.list({
      ...(actor.role === 'admin' ? {} : { owner_id: actor.id }),
      ...(t ? { target_kind: t.kind, target_id: t.id } : {}),
    });
    return rows.map(publicOf);
  }

  async get(actor: User, id: string): Promise<Backup> {
    return publicOf(await this.mine(actor, id));
  }

  /** The env or volume named, the caller's (404 otherwise), with what a backup of it holds. */
  async target(actor: User, t: { environment?: string; volume?: string }): Promise<Plan> {
    if (t.environment !== undefined) {
      const env = await this.o.envs.get(actor, t.environment);
      const ids = (env.storage_config?.mounts ?? []).flatMap((m) => (m.volume_id ? [m.volume_id] : []));
      const volumes = await Promise.all(ids.map((id) => this.o.volumes.get(actor, id)));
      const home = env.backend_ref ? { ref: env.backend_ref, path: `/home/${env.ssh_user}` } : undefined;
      return { kind: 'environment', id: env.id, backendId: env.backend_id, home, volumes, env };
    }
    const v = await this.o.volumes.get(actor, t.volume!);
    return { kind: 'volume', id: v.id, backendId: v.backend_id, volumes: [v] };
  }

  /** How the target's backend backs up (and the store where it needs one); 422 saying what is missing. */
  method(plan: Pick<Plan, 'backendId'>): Method {
    return methodFor(this.o.backends, this.o.archives, plan.backendId);
  }

  /** The object holding the env's own data where the backend keeps it whole (a VM's overlay, a home claim). */
  private async homeObject(plan: Plan): Promise<EnvDataObject | undefined> {
    const ref = plan.env?.backend_ref;
    const data =
      ref && this.o.backends.has(plan.backendId) && capability(this.o.backends.get(plan.backendId), 'envData');
    return data ? data.home(ref) : undefined;
  }

  /** VM disks: a running env's are copied at one point in time (its domain named), a stopped one's read as they
   *  are; an env starting or stopping, or a volume a running VM holds, is a 409. */
  private async diskState(plan: Plan): Promise<string | undefined> {
    if (!plan.env) {
      await this.o.volumes.refuseIfInUse(plan.volumes[0], 'backing up its disk (or back up the env)');
      return undefined;
    }
    if (plan.env.status === 'running') return plan.env.backend_ref ?? undefined;
    if (AT_REST.includes(plan.env.status)) return undefined;
    throw new ConflictError(`environment '${plan.env.name}' is ${plan.env.status}: back it up running or stopped`);
  }

  async run(actor: User, req: RunBackupInput, trigger: Backup['trigger'] = 'manual', keep?: number): Promise<Backup> {
    const plan = await this.target(actor, req);
    const m = this.method(plan);
    const runningIn = m.kind === 'disk' ? await this.diskState(plan) : undefined;
    const id = crypto.randomUUID();
    await this.o.repo.insert({
      id,
      target_kind: plan.kind,
      target_id: plan.id,
      owner_id: actor.id,
      trigger,
      store: m.kind === 'csi' ? m.backendId : m.store.name,
      started_at: this.iso(),
    });
    const written: BackupItemsTable[] = [];
    try {
      if (m.kind === 'tar') {
        await m.store.check();
        await this.archiveAll(id, plan, m.arch, m.store, written);
      } else if (m.kind === 'disk') {
        await m.store.check();
        const home = await this.homeObject(plan);
        await writeDisks({ id, disks: m.disks, store: m.store, home, volumes: plan.volumes, runningIn }, written);
      } else {
        const home = await this.homeObject(plan);
        await writeClaims({ id, backendId: m.backendId, snaps: m.snaps, home, volumes: plan.volumes }, written);
      }
      await this.o.repo.complete(id, written, this.iso());
    } catch (err) {
      for (const w of written) await this.drop(w.object_key).catch(() => undefined);
      await this.o.repo.fail(id, (err as Error).message ?? String(err), this.iso());
      throw err;
    }
    await this.o.audit.record({ user_id: actor.id, action: 'backup.run', target: id, detail: { trigger } });
    const retain = keep ?? (await this.o.repo.scheduleFor(plan.kind, plan.id))?.keep;
    if (retain) await this.prune(plan.kind, plan.id, retain);
    return this.get(actor, id);
  }

  private async archiveAll(
    id: string,
    plan: Plan,
    arch: VolumeArchiveCapability,
    store: ArchiveStore,
    out: BackupItemsTable[],
  ): Promise<void> {
    const put = async (item: string, exp: { stream: NodeJS.ReadableStream; done: Promise<void> }) => {
      const key = store.key('backups', id, `${item.replace(':', '-')}.tar`);
      const [w] = await Promise.all([store.put(key, exp.stream as never), exp.done]);
      return w as Written;
    };
    if (plan.home) {
      const w = await put('home', await arch.exportPath(plan.home.ref, plan.home.path));
      out.push(itemRow(id, 'home', w, null, plan.home.path));
    }
    for (const v of plan.volumes) {
      const image = await arch.helperImage(await this.o.volumes.helperImages(v));
      const w = await put(`volume:${v.id}`, await arch.exportVolume(v.backend_name, image));
      out.push(itemRow(id, `volume:${v.id}`, w, v.id, null));
    }
  }

  /** Keeps the newest `keep` complete backups of a target (and as many failed records); older ones go, objects first. */
  async prune(kind: string, targetId: string, keep: number): Promise<void> {
    const rows = await this.o.repo.list({ target_kind: kind, target_id: targetId });
    for (const status of ['complete', 'failed'] as const) {
      for (const b of rows.filter((r) => r.status === status).slice(keep)) {
        for (const i of b.items) await this.drop(i.object_key);
        await this.o.repo.delete(b.id);
        this.o.log.info({ backup: b.id, target: targetId }, 'backup removed by retention');
      }
    }
  }

  async restore(actor: User, id: string): Promise<Backup> {
    const b = await this.mine(actor, id);
    if (b.status !== 'complete') throw new ConflictError(`backup '${id}' is ${b.status}: only a complete one restores`);
    const plan = await this.target(
      actor,
      b.target_kind === 'environment' ? { environment: b.target_id } : { volume: b.target_id },
    );
    if (b.target_kind === 'environment') {
      const env = await this.o.envs.get(actor, b.target_id);
      if (!AT_REST.includes(env.status))
        throw new ConflictError(`environment '${env.name}' is ${env.status}: stop it before restoring its data`);
    } else await this.o.volumes.refuseIfInUse(plan.volumes[0], 'restoring into it');
    const m = this.method(plan);
    if (m.kind === 'disk') {
      await restoreDisks(b, {
        disks: m.disks,
        store: m.store,
        home: await this.homeObject(plan),
        volumes: plan.volumes,
      });
    } else if (m.kind === 'csi') await restoreClaims(b, m.snaps);
    else await this.restoreArchives(b, plan, m.arch, m.store);
    await this.o.audit.record({ user_id: actor.id, action: 'backup.restore', target: id, detail: {} });
    return publicOf(b);
  }

  /** Docker: every archive fetched, checked and read through, then the home and volumes made exactly as backed up. */
  private async restoreArchives(b: BackupRow, plan: Plan, arch: VolumeArchiveCapability, store: ArchiveStore) {
    // Every archive is fetched, checked and read through before the first one is put back: a bad one changes nothing.
    const files = new Map<string, { file: string; cleanup: () => void }>();
    try {
      for (const i of b.items) {
        files.set(i.item, await store.fetchVerified(i.object_key, i.sha256));
        const root = i.item === 'home' ? basename(i.path ?? plan.home?.path ?? 'home') : arch.volumeRoot;
        await checkTar(
          files.get(i.item)!.file,
          root,
          i.item === 'home' ? `the home ${i.path}` : `volume ${i.volume_id}`,
        );
      }
      // The helper image of each volume is found before anything changes too (a 422 there touches nothing).
      const images = new Map<string, string>();
      for (const v of plan.volumes.filter((x) => b.items.some((i) => i.volume_id === x.id)))
        images.set(v.id, await arch.helperImage(await this.o.volumes.helperImages(v)));
      for (const i of b.items) {
        const f = readFile(files.get(i.item)!.file);
        // Exact: the home and each volume hold the backup's files alone (later ones gone, changed ones put back).
        if (i.item === 'home' && plan.home)
          await arch.importPath(plan.home.ref, i.path ?? plan.home.path, f, { replace: true });
        const v = plan.volumes.find((x) => x.id === i.volume_id && images.has(x.id));
        if (v) await arch.importVolume(v.backend_name, f, images.get(v.id)!, { clear: true });
      }
    } finally {
      for (const f of files.values()) f.cleanup();
    }
  }

  async delete(actor: User, id: string): Promise<void> {
    const b = await this.mine(actor, id);
    for (const i of b.items) await this.drop(i.object_key);
    await this.o.repo.delete(id);
    await this.o.audit.record({ user_id: actor.id, action: 'backup.delete', target: id, detail: {} });
  }

  private drop(key: string): Promise<void> {
    return dropItem(this.o.backends, this.o.archives, key);
  }

  private async mine(actor: User, id: string): Promise<BackupRow> {
    const b = await this.o.repo.get(id);
    if (!b || (actor.role !== 'admin' && b.owner_id !== actor.id)) throw new NotFoundError('backup', id);
    return b;
  }
}

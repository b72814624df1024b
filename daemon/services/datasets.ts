// Datasets as owned objects (a user's or a team's) on the operator's object stores: create, list, get, patch,
// delete (refused while mounted; objects removed only when asked), and their catalogue counts. Another user's
// dataset is a 404, like another user's env.
import crypto from 'node:crypto';
import { s3, isS3Error } from '../objectstore/sdk';
import type { Kysely } from 'kysely';
import type { Dataset, User } from '../../common/model';
import type { CreateDatasetInput } from '../../common/datasets';
import { ConflictError, ForbiddenError, InputError, NotFoundError } from '../errors';
import type { ObjectStore } from '../objectstore/client';
import type { ObjectStores } from '../objectstore/stores';
import { datasetMountedBy, DatasetRepo, type DatasetRow } from '../store/datasets';
import type { Database } from '../store/schema';
import type { AuditRepo } from '../store/users';
import { ownerFor } from './owners';

/** Multipart uploads older than this under a dataset's prefix are aborted when it is counted (a cut client left them). */
export const STALE_UPLOAD_MS = 24 * 3600_000;

export interface DatasetServiceOptions {
  db: Kysely<Database>;
  stores: ObjectStores;
  audit: AuditRepo;
}

const listed = (users: string[], teams: string[], u: User) =>
  u.role === 'admin' || users.includes('*') || users.includes(u.name) || (!!u.team && teams.includes(u.team));

export class DatasetService {
  readonly repo: DatasetRepo;
  constructor(private readonly o: DatasetServiceOptions) {
    this.repo = new DatasetRepo(o.db);
  }

  get stores(): ObjectStores {
    return this.o.stores;
  }

  async list(actor: User): Promise<Dataset[]> {
    const rows = await this.repo.list(actor.role === 'admin' ? {} : { owner_id: actor.id, team: actor.team ?? null });
    return Promise.all(rows.map((r) => this.withUsers(r)));
  }

  /** The caller's own or team's dataset (admins: any), by id, name or team:NAME; 404 otherwise. */
  async row(actor: User, ref: string): Promise<DatasetRow> {
    const d = await this.resolve(actor, ref);
    const mine = d && (actor.role === 'admin' || d.owner_id === actor.id || (!!d.team && d.team === actor.team));
    if (!d || !mine) throw new NotFoundError('dataset', ref);
    return d;
  }

  /** Mounts resolve with the same rules but without the admin's reach: an admin mounts their own and their team's. */
  async forMount(actor: User, ref: string): Promise<DatasetRow> {
    return this.row({ ...actor, role: 'user' }, ref);
  }

  async get(actor: User, ref: string, opts: { recount?: boolean } = {}): Promise<Dataset> {
    let d = await this.row(actor, ref);
    if (opts.recount) d = await this.recount(d);
    return this.withUsers(d);
  }

  async create(actor: User, req: CreateDatasetInput): Promise<Dataset> {
    const store = this.storeFor(actor, req.store);
    const owner = ownerFor(actor, req.team);
    if (await this.repo.find(owner, req.name)) throw new ConflictError(`dataset '${req.name}' already exists`);
    const prefix = req.prefix ?? `${owner.team ? `team-${owner.team}` : actor.name}/${req.name}`;
    await this.ensureBucket(store, req.bucket);
    const id = crypto.randomUUID();
    try {
      await this.repo.insert({
        id,
        name: req.name,
        store: store.name,
        bucket: req.bucket,
        prefix,
        description: req.description ?? '',
        tags: req.tags ?? [],
        ...owner,
      });
    } catch (err) {
      if (/UNIQUE constraint failed: datasets\.store/.test(String(err)))
        throw new ConflictError(`another dataset already uses ${store.name}:${req.bucket}/${prefix}`);
      if (/UNIQUE constraint failed: datasets/.test(String(err)))
        throw new ConflictError(`dataset '${req.name}' already exists`);
      throw err;
    }
    await this.o.audit.record({ user_id: actor.id, action: 'dataset.create', target: id, detail: { name: req.name } });
    // What is already under the prefix (an existing bucket's data) is counted at once.
    return this.withUsers(await this.recount((await this.repo.get(id))!));
  }

  async update(actor: User, ref: string, p: { description?: string; tags?: string[] }): Promise<Dataset> {
    const d = await this.row(actor, ref);
    await this.repo.update(d.id, p);
    await this.o.audit.record({ user_id: actor.id, action: 'dataset.update', target: d.id, detail: Object.keys(p) });
    return this.get(actor, d.id);
  }

  /** Refused (409 naming the envs) while any env mounts it; its objects go only with deleteObjects. */
  async remove(actor: User, ref: string, deleteObjects: boolean): Promise<void> {
    const d = await this.withUsers(await this.row(actor, ref));
    if (d.mounted_by.length)
      throw new ConflictError(
        `dataset '${d.name}' is mounted by ${d.mounted_by.map((e) => `'${e.name}' (${e.id})`).join(', ')}; delete those environments first`,
      );
    if (deleteObjects) await this.deleteAll(d);
    await this.repo.delete(d.id);
    await this.o.audit.record({
      user_id: actor.id,
      action: 'dataset.delete',
      target: d.id,
      detail: { name: d.name, objects_deleted: deleteObjects },
    });
  }

  /** The store a dataset lives on (a store removed from the config since: 422 would mislead; it is a 503). */
  storeOf(d: DatasetRow): ObjectStore {
    const s = this.o.stores.get(d.store);
    if (!s) throw new InputError('store', `store: the gateway has no object store '${d.store}' any more`);
    return s;
  }

  /** Counts the completed objects under the prefix (what size/count say) and aborts stale multipart uploads. */
  async recount(d: DatasetRow): Promise<DatasetRow> {
    const store = this.storeOf(d);
    let size = 0;
    let count = 0;
    for await (const o of this.objects(store, d)) {
      size += o.Size ?? 0;
      count += 1;
    }
    await this.abortStale(store, d);
    if (size !== d.size_bytes || count !== d.object_count)
      await this.repo.update(d.id, { size_bytes: size, object_count: count });
    return (await this.repo.get(d.id))!;
  }

  /** Every object under the dataset's prefix (directory markers, keys ending in "/", are not objects of it). */
  async *objects(store: ObjectStore, d: DatasetRow, sub = '') {
    let token: string | undefined;
    do {
      const page = await this.o.stores.call(store, () =>
        store.client.send(
          new (s3().ListObjectsV2Command)({ Bucket: d.bucket, Prefix: `${d.prefix}/${sub}`, ContinuationToken: token }),
        ),
      );
      for (const o of page.Contents ?? []) if (o.Key && !o.Key.endsWith('/')) yield o;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  private async abortStale(store: ObjectStore, d: DatasetRow): Promise<void> {
    const page = await this.o.stores.call(store, () =>
      store.client.send(new (s3().ListMultipartUploadsCommand)({ Bucket: d.bucket, Prefix: `${d.prefix}/` })),
    );
    const cutoff = Date.now() - STALE_UPLOAD_MS;
    for (const u of page.Uploads ?? [])
      if (u.Initiated && u.Initiated.getTime() < cutoff)
        await store.client
          .send(new (s3().AbortMultipartUploadCommand)({ Bucket: d.bucket, Key: u.Key, UploadId: u.UploadId }))
          .catch(() => undefined);
  }

  private async deleteAll(d: DatasetRow): Promise<void> {
    const store = this.storeOf(d);
    let batch: { Key: string }[] = [];
    const flush = async () => {
      if (!batch.length) return;
      const b = batch;
      batch = [];
      await this.o.stores.call(store, () =>
        store.client.send(new (s3().DeleteObjectsCommand)({ Bucket: d.bucket, Delete: { Objects: b, Quiet: true } })),
      );
    };
    for await (const o of this.objects(store, d)) {
      batch.push({ Key: o.Key! });
      if (batch.length === 1000) await flush();
    }
    await flush();
  }

  private storeFor(actor: User, name: string): ObjectStore {
    const s = this.o.stores.get(name);
    // A store the caller may not use reads like one that doesn't exist.
    if (!s || !listed(s.config.users, s.config.teams, actor))
      throw new InputError('store', `store: no object store '${name}' (GET /object-stores lists those you may use)`);
    return s;
  }

  private async ensureBucket(store: ObjectStore, bucket: string): Promise<void> {
    try {
      await this.o.stores.call(store, () => store.client.send(new (s3().HeadBucketCommand)({ Bucket: bucket })));
    } catch (e) {
      const status = isS3Error(e) ? e.$metadata.httpStatusCode : undefined;
      if (status === 403)
        throw new ForbiddenError(`bucket: the store refuses bucket '${bucket}'`, { rule: 'store', field: 'bucket' });
      if (status !== 404) throw e;
      await this.o.stores.call(store, () => store.client.send(new (s3().CreateBucketCommand)({ Bucket: bucket })));
    }
  }

  private async withUsers(d: DatasetRow): Promise<Dataset> {
    return { ...d, mounted_by: await datasetMountedBy(this.o.db, d.id) };
  }

  private async resolve(actor: User, ref: string): Promise<DatasetRow | undefined> {
    if (ref.startsWith('id:')) return this.repo.get(ref.slice(3));
    if (ref.startsWith('team:')) return actor.team ? this.repo.find({ team: actor.team }, ref.slice(5)) : undefined;
    return (
      (await this.repo.get(ref)) ??
      (await this.repo.find({ owner_id: actor.id }, ref)) ??
      (actor.team ? await this.repo.find({ team: actor.team }, ref) : undefined)
    );
  }
}

// A dataset's objects through the gateway (the user needs no S3 credentials): list, streamed download and upload
// (multipart for big bodies, aborted when the client goes away), the resumable multipart protocol part by part, and
// presigned URLs straight to the store where it allows them. Keys are checked relative paths under the prefix.
import type { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { s3, isS3Error, s3Storage, s3Presigner } from '../objectstore/sdk';
import type { DatasetObject, User } from '../../common/model';
import { ConflictError, NotFoundError, RangeNotSatisfiableError, UnprocessableError } from '../errors';
import type { ObjectStore } from '../objectstore/client';
import type { DatasetRow } from '../store/datasets';
import type { AuditRepo } from '../store/users';
import type { DatasetService } from './datasets';

/** The part size the gateway uses for a streamed upload (S3's minimum is 5 MiB; bigger parts, fewer requests). */
const PART_BYTES = 16 * 1024 * 1024;

export interface ObjectDownload {
  body: Readable;
  length?: number;
  contentRange?: string;
  etag?: string;
  lastModified?: Date;
  status: 200 | 206;
}

export class DatasetObjects {
  private readonly presigners = new Map<string, S3Client>();
  constructor(private readonly o: { datasets: DatasetService; audit: AuditRepo }) {}

  private where(d: DatasetRow, key: string) {
    return { store: this.o.datasets.storeOf(d), Bucket: d.bucket, Key: `${d.prefix}/${key}` };
  }
  private call<T>(store: ObjectStore, fn: () => Promise<T>): Promise<T> {
    return this.o.datasets.stores.call(store, fn);
  }

  async list(actor: User, ref: string, sub?: string): Promise<DatasetObject[]> {
    const d = await this.o.datasets.row(actor, ref);
    const out: DatasetObject[] = [];
    const store = this.o.datasets.storeOf(d);
    for await (const o of this.o.datasets.objects(store, d, sub ?? ''))
      out.push({
        key: o.Key!.slice(d.prefix.length + 1),
        size: o.Size ?? 0,
        last_modified: o.LastModified?.toISOString() ?? null,
        etag: o.ETag ?? null,
      });
    return out;
  }

  async download(actor: User, ref: string, key: string, range?: string): Promise<ObjectDownload> {
    const d = await this.o.datasets.row(actor, ref);
    const { store, ...at } = this.where(d, key);
    try {
      const r = await this.call(store, () =>
        store.client.send(new (s3().GetObjectCommand)({ ...at, ...(range ? { Range: range } : {}) })),
      );
      return {
        body: r.Body as Readable,
        length: r.ContentLength,
        contentRange: r.ContentRange,
        etag: r.ETag,
        lastModified: r.LastModified,
        status: r.ContentRange ? 206 : 200,
      };
    } catch (e) {
      if (range && isS3Error(e) && e.$metadata.httpStatusCode === 416) throw new RangeNotSatisfiableError(range);
      throw missing(e, key, 'object');
    }
  }

  /** A streamed upload: multipart when it is big; `signal` (the client went away) aborts it, leaving no object. */
  async upload(actor: User, ref: string, key: string, body: Readable, signal: AbortSignal, length?: number) {
    const d = await this.o.datasets.row(actor, ref);
    const { store, ...at } = this.where(d, key);
    if (length !== undefined && length < PART_BYTES) {
      // Small bodies: one PUT (the SDK needs the length to stream it).
      await this.call(store, () =>
        store.client.send(new (s3().PutObjectCommand)({ ...at, Body: body, ContentLength: length }), {
          abortSignal: signal,
        }),
      );
    } else {
      const up = new (s3Storage().Upload)({
        client: store.client,
        params: { ...at, Body: body },
        partSize: PART_BYTES,
        queueSize: 4,
      });
      const abort = () => void up.abort().catch(() => undefined);
      signal.addEventListener('abort', abort, { once: true });
      try {
        await this.call(store, () => up.done());
      } finally {
        signal.removeEventListener('abort', abort);
      }
    }
    await this.o.audit.record({ user_id: actor.id, action: 'dataset.upload', target: d.id, detail: { key } });
    await this.o.datasets.recount(d);
    return this.head(store, at, key);
  }

  async remove(actor: User, ref: string, key: string): Promise<void> {
    const d = await this.o.datasets.row(actor, ref);
    const { store, ...at } = this.where(d, key);
    await this.head(store, at, key);
    await this.call(store, () => store.client.send(new (s3().DeleteObjectCommand)(at)));
    await this.o.audit.record({ user_id: actor.id, action: 'dataset.object_delete', target: d.id, detail: { key } });
    await this.o.datasets.recount(d);
  }

  // ---- the resumable multipart protocol ------------------------------------------------------------------

  async startUpload(actor: User, ref: string, key: string): Promise<{ upload_id: string; key: string }> {
    const d = await this.o.datasets.row(actor, ref);
    const { store, ...at } = this.where(d, key);
    const r = await this.call(store, () => store.client.send(new (s3().CreateMultipartUploadCommand)(at)));
    return { upload_id: r.UploadId!, key };
  }

  async uploadPart(
    actor: User,
    ref: string,
    uploadId: string,
    key: string,
    part: number,
    body: Readable,
    length: number,
  ) {
    const d = await this.o.datasets.row(actor, ref);
    const { store, ...at } = this.where(d, key);
    try {
      const r = await this.call(store, () =>
        store.client.send(
          new (s3().UploadPartCommand)({
            ...at,
            UploadId: uploadId,
            PartNumber: part,
            Body: body,
            ContentLength: length,
          }),
        ),
      );
      return { part, etag: r.ETag! };
    } catch (e) {
      throw missing(e, uploadId, 'upload');
    }
  }

  /** The parts the store has (a resumed client sends the rest). */
  async parts(actor: User, ref: string, uploadId: string, key: string) {
    const d = await this.o.datasets.row(actor, ref);
    const { store, ...at } = this.where(d, key);
    const out: { part: number; etag: string; size: number }[] = [];
    let marker: string | undefined;
    try {
      do {
        const r = await this.call(store, () =>
          store.client.send(new (s3().ListPartsCommand)({ ...at, UploadId: uploadId, PartNumberMarker: marker })),
        );
        for (const p of r.Parts ?? []) out.push({ part: p.PartNumber!, etag: p.ETag!, size: p.Size ?? 0 });
        marker = r.IsTruncated ? r.NextPartNumberMarker : undefined;
      } while (marker);
    } catch (e) {
      throw missing(e, uploadId, 'upload');
    }
    return { upload_id: uploadId, key, parts: out };
  }

  async complete(actor: User, ref: string, uploadId: string, key: string, parts: { part: number; etag: string }[]) {
    const d = await this.o.datasets.row(actor, ref);
    const { store, ...at } = this.where(d, key);
    const sorted = [...parts].sort((a, b) => a.part - b.part);
    try {
      await this.call(store, () =>
        store.client.send(
          new (s3().CompleteMultipartUploadCommand)({
            ...at,
            UploadId: uploadId,
            MultipartUpload: { Parts: sorted.map((p) => ({ PartNumber: p.part, ETag: p.etag })) },
          }),
        ),
      );
    } catch (e) {
      const err = missing(e, uploadId, 'upload');
      if (isS3Error(e) && /InvalidPart/.test(e.name))
        throw new ConflictError(`upload '${uploadId}': a part's etag does not match what the store has (${e.name})`);
      throw err;
    }
    await this.o.audit.record({ user_id: actor.id, action: 'dataset.upload', target: d.id, detail: { key } });
    await this.o.datasets.recount(d);
    return this.head(store, at, key);
  }

  async abort(actor: User, ref: string, uploadId: string, key: string): Promise<void> {
    const d = await this.o.datasets.row(actor, ref);
    const { store, ...at } = this.where(d, key);
    try {
      await this.call(store, () =>
        store.client.send(new (s3().AbortMultipartUploadCommand)({ ...at, UploadId: uploadId })),
      );
    } catch (e) {
      throw missing(e, uploadId, 'upload');
    }
  }

  /** A URL straight to the store (its public_endpoint), when the operator allows presigning on it. */
  async presign(actor: User, ref: string, key: string, method: 'get' | 'put', expiresS: number) {
    const d = await this.o.datasets.row(actor, ref);
    const { store, ...at } = this.where(d, key);
    if (!store.config.presign)
      throw new UnprocessableError(`object store '${store.name}' does not hand out presigned URLs (presign: false)`);
    if (method === 'get') await this.head(store, at, key);
    const url = await s3Presigner().getSignedUrl(
      this.presigner(store),
      method === 'get' ? new (s3().GetObjectCommand)(at) : new (s3().PutObjectCommand)(at),
      { expiresIn: expiresS },
    );
    await this.o.audit.record({ user_id: actor.id, action: 'dataset.presign', target: d.id, detail: { key, method } });
    return { url, method: method.toUpperCase(), expires_at: new Date(Date.now() + expiresS * 1000).toISOString() };
  }

  private presigner(store: ObjectStore): S3Client {
    let c = this.presigners.get(store.name);
    if (!c) {
      const credentials = this.o.datasets.stores.credentialsOf(store.name)!;
      c = new (s3().S3Client)({
        endpoint: store.config.public_endpoint ?? store.config.endpoint,
        region: store.config.region,
        forcePathStyle: store.config.path_style,
        credentials,
      });
      this.presigners.set(store.name, c);
    }
    return c;
  }

  private async head(store: ObjectStore, at: { Bucket: string; Key: string }, key: string): Promise<DatasetObject> {
    try {
      const h = await this.call(store, () => store.client.send(new (s3().HeadObjectCommand)(at)));
      return {
        key,
        size: h.ContentLength ?? 0,
        last_modified: h.LastModified?.toISOString() ?? null,
        etag: h.ETag ?? null,
      };
    } catch (e) {
      throw missing(e, key, 'object');
    }
  }
}

/** A store's 404 (no such key, no such upload) becomes ours, naming what is missing; anything else as it was. */
function missing(e: unknown, id: string, what: string): unknown {
  if (isS3Error(e) && (e.$metadata.httpStatusCode === 404 || /NoSuch/.test(e.name))) return new NotFoundError(what, id);
  return e;
}

// Archives in the backup store: written by multipart upload with their SHA-256 and size counted on the way, read
// back into a temporary file that must match the recorded checksum before anything is restored from it, removed.
// A store that doesn't answer (network error, 5xx) is a 503 naming it; what it refuses (4xx) a 422.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { s3, isS3Error, s3Storage } from '../objectstore/sdk';
import { ObjectStoreUnavailableError, UnprocessableError } from '../errors';
import { storeProblem, type ObjectStore } from '../objectstore/client';
import type { BackupStoreConfig } from './config';

export interface Written {
  key: string;
  size_bytes: number;
  sha256: string;
}

export class ArchiveStore {
  private bucketReady = false;
  constructor(
    private readonly store: ObjectStore,
    private readonly cfg: BackupStoreConfig,
    private readonly tmpDir: string,
  ) {}

  get name(): string {
    return this.store.name;
  }

  key(...parts: string[]): string {
    return this.cfg.prefix + parts.join('/');
  }

  /** Fails fast with 503 when the store is down, before any backend work starts. */
  async check(): Promise<void> {
    await this.ensureBucket();
  }

  async put(key: string, body: Readable): Promise<Written> {
    await this.ensureBucket();
    const hash = crypto.createHash('sha256');
    let size = 0;
    const counted = body.pipe(
      new Transform({
        transform(chunk: Buffer, _enc, cb) {
          hash.update(chunk);
          size += chunk.length;
          cb(null, chunk);
        },
      }),
    );
    body.once('error', (e) => counted.destroy(e));
    const upload = new (s3Storage().Upload)({
      client: this.store.client,
      params: { Bucket: this.cfg.bucket, Key: key, Body: counted },
      partSize: 8 * 1024 * 1024,
      queueSize: 2,
      leavePartsOnError: false,
    });
    await this.guard(() => upload.done());
    return { key, size_bytes: size, sha256: hash.digest('hex') };
  }

  /** The object in a temporary file, checked against `sha256`; the caller removes it with `cleanup`. */
  async fetchVerified(key: string, sha256: string): Promise<{ file: string; cleanup: () => void }> {
    fs.mkdirSync(this.tmpDir, { recursive: true, mode: 0o700 });
    const file = path.join(this.tmpDir, `${crypto.randomUUID()}.tar`);
    const cleanup = () => fs.rmSync(file, { force: true });
    try {
      const r = await this.guard(() =>
        this.store.client.send(new (s3().GetObjectCommand)({ Bucket: this.cfg.bucket, Key: key })),
      );
      const hash = crypto.createHash('sha256');
      const tee = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          hash.update(chunk);
          cb(null, chunk);
        },
      });
      await pipeline(r.Body as Readable, tee, fs.createWriteStream(file, { mode: 0o600 }));
      const got = hash.digest('hex');
      if (got !== sha256)
        throw new UnprocessableError(`archive ${key} in store '${this.name}' has SHA-256 ${got}, recorded ${sha256}`);
      return { file, cleanup };
    } catch (err) {
      cleanup();
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    await this.guard(() =>
      this.store.client.send(new (s3().DeleteObjectCommand)({ Bucket: this.cfg.bucket, Key: key })),
    );
  }

  private async ensureBucket(): Promise<void> {
    if (this.bucketReady) {
      await this.guard(() => this.store.client.send(new (s3().HeadBucketCommand)({ Bucket: this.cfg.bucket })));
      return;
    }
    const Bucket = this.cfg.bucket;
    await this.guard(() => this.store.client.send(new (s3().HeadBucketCommand)({ Bucket }))).catch(async (err) => {
      if (err instanceof ObjectStoreUnavailableError) throw err;
      await this.guard(() => this.store.client.send(new (s3().CreateBucketCommand)({ Bucket })));
    });
    this.bucketReady = true;
  }

  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const status = isS3Error(err) ? err.$metadata.httpStatusCode : undefined;
      if (status !== undefined && status < 500)
        throw new UnprocessableError(`object store '${this.name}' refused: ${storeProblem(err)}`);
      throw new ObjectStoreUnavailableError(this.name, storeProblem(err));
    }
  }
}

// The test S3 server (test/setup/start-s3.sh: versitygw on 127.0.0.1): its address and root credentials file, and
// an object store config the tests' daemons and clients share. Every test makes its own buckets (unique names).
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { CACHE_DIR } from './cache';
import { objectStore, readCredentials, type ObjectStoreConfig } from '../../daemon/objectstore/config';
import { objectStoreClient, type ObjectStore } from '../../daemon/objectstore/client';

export const S3_ADDR = process.env.HANGAR_S3_ADDR || '127.0.0.1:17070';
export const S3_ENDPOINT = `http://${S3_ADDR}`;
export const S3_CREDENTIALS_FILE = path.join(CACHE_DIR, 's3', 'root.env');

/** Starts (or finds) the server; a server that can't start fails the test, never skips it. */
export function ensureS3Server(): void {
  execFileSync('bash', [path.join(__dirname, '../setup/start-s3.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** The store as an operator would declare it in the daemon's config. */
export function testStoreConfig(overrides: Partial<ObjectStoreConfig> = {}): ObjectStoreConfig {
  return objectStore.parse({
    name: 'test-s3',
    endpoint: S3_ENDPOINT,
    credentials: { file: S3_CREDENTIALS_FILE },
    ...overrides,
  });
}

export function testStore(overrides: Partial<ObjectStoreConfig> = {}): ObjectStore {
  const config = testStoreConfig(overrides);
  return objectStoreClient(config, readCredentials(config));
}

/** A bucket name no other test (or helper) uses. */
export function uniqueBucket(prefix = 'hangar-test'): string {
  return `${prefix}-${crypto.randomBytes(5).toString('hex')}`;
}

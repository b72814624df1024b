// One S3 client per configured store, made from its config and credentials; a health check that names the store.
// An adapter beside the backends: services use it, it uses none of them.
import type { S3Client } from '@aws-sdk/client-s3';
import { s3, isS3Error } from './sdk';
import type { ObjectStoreConfig, ObjectStoreCredentials } from './config';

export interface ObjectStore {
  readonly name: string;
  readonly config: ObjectStoreConfig;
  readonly client: S3Client;
}

// Hangar runs on Node 20 and pins the SDK (package.json, exact versions) to releases that support it; the SDK's
// notice that later releases will need Node 22 would otherwise be printed by every daemon and CLI start.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export function objectStoreClient(config: ObjectStoreConfig, credentials: ObjectStoreCredentials): ObjectStore {
  const client = new (s3().S3Client)({
    endpoint: config.endpoint,
    region: config.region,
    forcePathStyle: config.path_style,
    credentials,
    // Checksums on every request (the SDK's new default) are refused by some on-premise stores; ask only when required.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: { requestTimeout: config.timeout_ms, connectionTimeout: Math.min(config.timeout_ms, 5_000) },
    maxAttempts: 2,
  });
  return { name: config.name, config, client };
}

export interface StoreHealth {
  name: string;
  endpoint: string;
  ok: boolean;
  /** Why it isn't: the S3 error code or the network error's code, never a credential. */
  problem?: string;
}

/** Lists buckets (or heads one, when the credentials may only see that) to tell whether the store answers. */
export async function storeHealth(store: ObjectStore, bucket?: string): Promise<StoreHealth> {
  const base = { name: store.name, endpoint: store.config.endpoint };
  try {
    if (bucket) await store.client.send(new (s3().HeadBucketCommand)({ Bucket: bucket }));
    else await store.client.send(new (s3().ListBucketsCommand)({}));
    return { ...base, ok: true };
  } catch (e) {
    return { ...base, ok: false, problem: storeProblem(e) };
  }
}

/** A short, secret-free description of an S3 failure: the service's error code, or the network error's. */
export function storeProblem(e: unknown): string {
  if (isS3Error(e)) return `${e.name} (HTTP ${e.$metadata.httpStatusCode ?? '?'})`;
  const err = e as NodeJS.ErrnoException & { name?: string };
  return err.code ?? err.name ?? 'unreachable';
}

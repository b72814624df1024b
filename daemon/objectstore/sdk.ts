// The AWS SDK is loaded the first time a store is used, not when the daemon starts: @aws-sdk/client-s3 alone is
// ~20 MiB resident, which a gateway without object stores (most of them) would otherwise carry for nothing.
/* eslint-disable @typescript-eslint/no-require-imports */
type S3 = typeof import('@aws-sdk/client-s3');
type Storage = typeof import('@aws-sdk/lib-storage');
type Presigner = typeof import('@aws-sdk/s3-request-presigner');

let s3Module: S3 | undefined;
let storageModule: Storage | undefined;
let presignerModule: Presigner | undefined;

export const s3 = (): S3 => (s3Module ??= require('@aws-sdk/client-s3') as S3);
export const s3Storage = (): Storage => (storageModule ??= require('@aws-sdk/lib-storage') as Storage);
export const s3Presigner = (): Presigner => (presignerModule ??= require('@aws-sdk/s3-request-presigner') as Presigner);

/** An S3 service error (the SDK's own class; false without loading it when nothing was ever loaded). */
export function isS3Error(e: unknown): e is InstanceType<S3['S3ServiceException']> {
  return s3Module !== undefined && e instanceof s3Module.S3ServiceException;
}

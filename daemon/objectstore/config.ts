// The operator's object stores (S3, MinIO, OSS, versitygw…): where datasets, volume archives and backups live.
// Credentials come from a file or from environment variables named here, read when the daemon starts; they are never
// stored in the database, logged or answered.
import fs from 'node:fs';
import { z } from 'zod';

const STORE_NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/;

const credentials = z.union([
  /** A file of KEY=VALUE lines (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, optional AWS_SESSION_TOKEN), mode 0600. */
  z.object({ file: z.string().min(1) }).strict(),
  /** The names of environment variables that hold them (the daemon's own environment). */
  z
    .object({
      access_key_id_env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name'),
      secret_access_key_env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name'),
    })
    .strict(),
]);

export const objectStore = z
  .object({
    name: z.string().regex(STORE_NAME, 'must be lowercase letters, digits, "_", "." and "-"'),
    /** The S3 endpoint the gateway talks to, e.g. https://s3.example.com or http://127.0.0.1:17070. */
    endpoint: z.string().url(),
    /** Where environments and clients reach it when that differs from the gateway's view (presigned URLs). */
    public_endpoint: z.string().url().optional(),
    region: z.string().min(1).default('us-east-1'),
    /** MinIO, versitygw and most on-premise stores want path-style addressing (http://host/bucket/key). */
    path_style: z.boolean().default(true),
    credentials,
    /** Presigned URLs let clients upload and download straight to the store; off when it isn't reachable by them. */
    presign: z.boolean().default(true),
    /** Which users and teams may make datasets on it ("*": everyone); admins always may. */
    users: z.array(z.string().min(1)).default(['*']),
    teams: z.array(z.string().min(1)).default([]),
    timeout_ms: z.number().int().min(100).default(30_000),
    /** How envs that reach the store themselves (VMs, Kubernetes pods) get credentials scoped to their datasets:
     *  versitygw: an account per env made through its admin API, allowed the env's bucket/prefix by bucket policy;
     *  none: the store can't scope, and those envs get its datasets only with full_credentials_to_envs. */
    scoping: z.enum(['versitygw', 'none']).default('none'),
    /** versitygw's admin API (e.g. http://127.0.0.1:17071), signed with the store's credentials. */
    admin_endpoint: z.string().url().optional(),
    /** The operator's explicit choice to hand a store that can't scope its full credentials to VM and pod envs. */
    full_credentials_to_envs: z.boolean().default(false),
    /** Where VMs and pods reach the store, when that differs from `endpoint` (a VM on user-mode networking reaches a
     *  store on the libvirt host's loopback as 10.0.2.2 without it). */
    guest_endpoint: z.string().url().optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.scoping === 'versitygw' && !s.admin_endpoint)
      ctx.addIssue({ code: 'custom', path: ['admin_endpoint'], message: 'scoping versitygw needs admin_endpoint' });
  });
export type ObjectStoreConfig = z.infer<typeof objectStore>;

export interface ObjectStoreCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Duplicate store names are refused, naming the second. */
export function checkObjectStores(stores: ObjectStoreConfig[]): void {
  const seen = new Set<string>();
  for (const [i, s] of stores.entries()) {
    if (seen.has(s.name)) throw new Error(`invalid configuration: object_stores.${i}.name: duplicate name '${s.name}'`);
    seen.add(s.name);
  }
}

/** Reads a store's credentials. Errors name the store and where the credentials were looked for, never a value. */
export function readCredentials(
  store: ObjectStoreConfig,
  env: NodeJS.ProcessEnv = process.env,
): ObjectStoreCredentials {
  const where = `object_stores '${store.name}'`;
  if ('file' in store.credentials) {
    let text: string;
    try {
      text = fs.readFileSync(store.credentials.file, 'utf8');
    } catch (e) {
      throw new Error(`${where}: credentials file ${store.credentials.file}: ${(e as NodeJS.ErrnoException).code}`, {
        cause: e,
      });
    }
    const values = parseKeyValues(text);
    const accessKeyId = values.AWS_ACCESS_KEY_ID;
    const secretAccessKey = values.AWS_SECRET_ACCESS_KEY;
    if (!accessKeyId || !secretAccessKey) {
      throw new Error(`${where}: ${store.credentials.file} needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY lines`);
    }
    return { accessKeyId, secretAccessKey, sessionToken: values.AWS_SESSION_TOKEN || undefined };
  }
  const { access_key_id_env: idVar, secret_access_key_env: secretVar } = store.credentials;
  const accessKeyId = env[idVar];
  const secretAccessKey = env[secretVar];
  if (!accessKeyId || !secretAccessKey)
    throw new Error(`${where}: environment variables ${idVar} and ${secretVar} must be set`);
  return { accessKeyId, secretAccessKey };
}

/** KEY=VALUE lines; "#" comments, blank lines, optional quotes and a leading "export " are allowed. */
function parseKeyValues(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim().replace(/^export\s+/, '');
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq < 1) continue;
    out[line.slice(0, eq).trim()] = line
      .slice(eq + 1)
      .trim()
      .replace(/^(['"])(.*)\1$/, '$2');
  }
  return out;
}

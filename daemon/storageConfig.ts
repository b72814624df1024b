// The operator's storage settings: volume quotas per user and team, and the NFS/CephFS shares users may mount by
// name. Strict: a typo is an error naming the key, never a silently open share.
import path from 'node:path';
import { z } from 'zod';

const limit = z
  .object({
    /** How many volumes one user (or one team) may own. */
    max_count: z.number().int().min(0).optional(),
    /** Their total size in GB (volumes without a size count as 0). */
    max_total_gb: z.number().int().min(0).optional(),
  })
  .strict();
export type QuotaLimit = z.infer<typeof limit>;

export const volumeQuotas = z
  .object({ per_user: limit.default({}), per_team: limit.default({}) })
  .strict()
  .default({});
export type VolumeQuotas = z.infer<typeof volumeQuotas>;

const SHARE_NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/;
const exportPath = z
  .string()
  .regex(/^\/[A-Za-z0-9_.\-/]*$/, 'must be an absolute path of letters, digits, "_", "." , "-" and "/"')
  .refine(
    (p) => p === '/' || (path.posix.normalize(p) === p && !p.endsWith('/')),
    'must be a normalised path (no "..", "." or "//")',
  );
/** Mount options as the kernel takes them (o=…): word characters, "=", "." and ":" only, so nothing can be spliced in. */
const mountOption = z
  .string()
  .regex(/^[A-Za-z0-9_]+(=[A-Za-z0-9_.:]+)?$/, 'must be an option like "hard" or "timeo=600"');

export const share = z
  .object({
    name: z.string().regex(SHARE_NAME, 'must be lowercase letters, digits, "_", "." and "-"'),
    /** nfs (default) or cephfs (Docker hosts; Kubernetes uses a StorageClass for Ceph). */
    kind: z.enum(['nfs', 'cephfs']).default('nfs'),
    server: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9.:-]{0,252}$/, 'must be a host name or an IP address'),
    export: exportPath,
    nfs_version: z.enum(['3', '4', '4.0', '4.1', '4.2']).default('4.1'),
    options: z.array(mountOption).default([]),
    users: z.array(z.string().min(1)).default([]),
    teams: z.array(z.string().min(1)).default([]),
    read_only: z.boolean().default(false),
    /** per_user: <export>/<login user>; per_env: <export>/<env id>; made by Hangar, owned by the login uid/gid. */
    sub_directories: z.enum(['none', 'per_user', 'per_env']).default('none'),
    /** cephfs: the Ceph client (name=) and a file on the gateway holding its key (secret=; never logged). */
    ceph_user: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be a Ceph client name')
      .optional(),
    secret_file: z.string().regex(/^\//, 'must be an absolute path').optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.kind !== 'cephfs' && (s.ceph_user !== undefined || s.secret_file !== undefined))
      ctx.addIssue({ code: 'custom', path: ['ceph_user'], message: 'ceph_user and secret_file are for kind cephfs' });
  });
export type ShareConfig = z.infer<typeof share>;

/** Duplicate share names are refused, naming the second. */
export function checkShares(shares: ShareConfig[]): void {
  const seen = new Set<string>();
  for (const [i, s] of shares.entries()) {
    if (seen.has(s.name)) throw new Error(`invalid configuration: shares.${i}.name: duplicate name '${s.name}'`);
    seen.add(s.name);
  }
}

// Where volume archives and backups go: one bucket (and key prefix) on one of the configured object stores.
import { z } from 'zod';

export const backupStore = z
  .object({
    /** An object_stores entry's name. */
    store: z.string().min(1),
    bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name'),
    /** Keys start with it ("hangar/" → hangar/volumes/<id>/<snapshot>.tar, hangar/backups/<id>/…). */
    prefix: z
      .string()
      .regex(/^([A-Za-z0-9_.-]+\/)*$/, 'must be empty or path segments each ending in "/"')
      .default('hangar/'),
  })
  .strict();
export type BackupStoreConfig = z.infer<typeof backupStore>;

export function checkBackupStore(cfg: { backup_store?: BackupStoreConfig; object_stores: { name: string }[] }): void {
  const b = cfg.backup_store;
  if (b && !cfg.object_stores.some((s) => s.name === b.store))
    throw new Error(`invalid configuration: backup_store.store: no object_stores entry named '${b.store}'`);
}

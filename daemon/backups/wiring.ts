// Builds the snapshot and backup services from the config (the backup store's S3 client, credentials read now).
import path from 'node:path';
import type { Kysely } from 'kysely';
import type { Config } from '../config';
import type { Backends } from '../contract';
import type { Logger } from '../log';
import { objectStoreClient } from '../objectstore/client';
import { readCredentials } from '../objectstore/config';
import { VolumeService } from '../services/volumes';
import { ArchiveStore } from '../snapshots/archiveStore';
import { SnapshotService } from '../snapshots/service';
import { VolumeAccess } from '../snapshots/volumeAccess';
import { BackupRepo } from '../store/backups';
import type { Database } from '../store/schema';
import { SnapshotRepo } from '../store/snapshots';
import type { AuditRepo, UserRepo } from '../store/users';
import { BackupSchedules } from './schedules';
import { BackupService, type BackupDeps } from './service';

export interface DataProtectionDeps {
  db: Kysely<Database>;
  backends: Backends;
  audit: AuditRepo;
  users: UserRepo;
  envs: BackupDeps['envs'];
  gatewayId: string;
  log: Logger;
  now: () => number;
}

export function dataProtection(cfg: Config, d: DataProtectionDeps) {
  const bs = cfg.backup_store;
  const storeCfg = bs && cfg.object_stores.find((s) => s.name === bs.store);
  const archives =
    bs && storeCfg
      ? new ArchiveStore(objectStoreClient(storeCfg, readCredentials(storeCfg)), bs, path.join(cfg.data_dir, 'tmp'))
      : undefined;
  const volumes = new VolumeAccess({
    db: d.db,
    volumes: new VolumeService({
      db: d.db,
      backends: d.backends,
      audit: d.audit,
      gatewayId: d.gatewayId,
      quotas: cfg.volume_quotas,
      shares: cfg.shares,
      hostPaths: cfg.host_paths,
    }),
    quotas: cfg.volume_quotas,
    gatewayId: d.gatewayId,
  });
  const snapshots = new SnapshotService({
    repo: new SnapshotRepo(d.db),
    backends: d.backends,
    volumes,
    archives,
    audit: d.audit,
    now: d.now,
  });
  const repo = new BackupRepo(d.db);
  const backups = new BackupService({ ...d, repo, volumes, archives });
  const schedules = new BackupSchedules({ repo, backups, users: d.users, log: d.log, now: d.now });
  return { snapshots, backups, schedules };
}

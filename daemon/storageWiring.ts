// Who may mount what (host paths, shares, volumes, datasets), composed once for server.ts: the object stores
// (credentials read now: a missing file stops the start, naming the store; never stored), the datasets over them,
// their host-side mounts and the scoped credentials of envs that mount them themselves. The daemon mounts on its
// own host (s3fs), so only Docker engines on this host (unix sockets) get binds; libvirt guests mount with s3fs
// themselves and Kubernetes pods sync with the backend's dataset_sync_image.
import path from 'node:path';
import type { Kysely } from 'kysely';
import type { Config } from './config';
import { DatasetAccess } from './environments/datasetAccess';
import { DatasetMounts } from './environments/datasetMounts';
import { MountPolicy, type DatasetMountSource } from './environments/mounts';
import type { Logger } from './log';
import { ScopedAccess } from './objectstore/scopedAccess';
import { ObjectStores } from './objectstore/stores';
import { DatasetService } from './services/datasets';
import type { Database } from './store/schema';
import type { AuditRepo } from './store/users';

export function storageOf(cfg: Config, db: Kysely<Database>, audit: AuditRepo, log: Logger) {
  const stores = new ObjectStores(cfg.object_stores);
  const datasets = new DatasetService({ db, stores, audit });
  const hostBackends = cfg.backends.filter((b) => b.kind === 'docker' && b.url.startsWith('unix://')).map((b) => b.id);
  const scoped = new ScopedAccess(stores);
  const access = new DatasetAccess({ datasets: datasets.repo, stores, scoped, hostBackends, log });
  const datasetMounts = new DatasetMounts({
    root: path.join(cfg.data_dir, 'dataset-mounts'),
    datasets: datasets.repo,
    stores,
    log,
    hostBackends,
    access,
  });
  const datasetSource: DatasetMountSource = {
    forMount: (actor, ref) => datasets.forMount(actor, ref),
    dir: (envId, n) => datasetMounts.dir(envId, n),
    backends: hostBackends,
    guestBackends: cfg.backends
      .filter((b) => b.kind === 'libvirt' || (b.kind === 'kubernetes' && b.dataset_sync_image))
      .map((b) => b.id),
    refusal: (store) => scoped.refusal(store),
  };
  const mounts = new MountPolicy({
    hostPaths: cfg.host_paths,
    db,
    shares: cfg.shares,
    quotas: cfg.volume_quotas,
    datasets: datasetSource,
  });
  return {
    stores,
    datasets,
    datasetMounts,
    mounts,
    datasetSources: (env: Parameters<DatasetAccess['sources']>[0]) => access.sources(env),
  };
}
